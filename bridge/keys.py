"""Typed application keys: everything the app factory puts on the application."""

from __future__ import annotations

from aiohttp import web

from bridge.clock import Clock
from bridge.delivery.inbox import InboxProcessor
from bridge.delivery.outbox import OutboxRoute, OutboxWorker
from bridge.delivery.pressure import WebhookPressure
from bridge.departments import Departments
from bridge.flows.context import FlowHandler
from bridge.health import Readiness
from bridge.metrics import Metrics
from bridge.settings import Settings
from bridge.state.repository import Repository
from bridge.upstreams import Upstreams, UpstreamTransports

SETTINGS = web.AppKey("bridge.settings", Settings)
CLOCK = web.AppKey("bridge.clock", Clock)
READINESS = web.AppKey("bridge.readiness", Readiness)
DEPARTMENTS = web.AppKey("bridge.departments", Departments)
TRANSPORTS = web.AppKey("bridge.transports", UpstreamTransports)
REPOSITORY = web.AppKey("bridge.repository", Repository)
UPSTREAMS = web.AppKey("bridge.upstreams", Upstreams)
# Filled while the app is built (flows, provisioning); read when the workers start.
EVENT_ROUTES = web.AppKey("bridge.event_routes", dict[str, FlowHandler])
OUTBOX_ROUTES = web.AppKey("bridge.outbox_routes", dict[str, OutboxRoute])
METRICS = web.AppKey("bridge.metrics", Metrics)
OUTBOX = web.AppKey("bridge.outbox", OutboxWorker)
INBOX = web.AppKey("bridge.inbox", InboxProcessor)
PRESSURE = web.AppKey("bridge.webhook_pressure", WebhookPressure)
