"""Typed application keys: everything the app factory puts on the application."""

from __future__ import annotations

from aiohttp import web

from bridge.clock import Clock
from bridge.health import Readiness
from bridge.settings import Settings

SETTINGS = web.AppKey("bridge.settings", Settings)
CLOCK = web.AppKey("bridge.clock", Clock)
READINESS = web.AppKey("bridge.readiness", Readiness)
