"""Simulators of Evolution API, Typebot, Chatwoot, Mailcow and an SMTP sink (tests, demo)."""

from __future__ import annotations
