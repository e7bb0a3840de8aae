"""Wiring of staff identity into the bridge app: onboarding, login, portal and Chatwoot SSO."""

from __future__ import annotations

from aiohttp import web

from bridge.keys import CLOCK, SETTINGS
from provisioning.identity.auth import add_auth_routes
from provisioning.identity.config import IDENTITY, IdentityConfig
from provisioning.identity.employees_page import add_employees_page_routes
from provisioning.identity.onboarding import add_onboarding_routes
from provisioning.identity.portal import add_portal_routes
from provisioning.identity.sso import add_sso_routes

__all__ = ["IDENTITY", "setup_identity"]


def setup_identity(app: web.Application) -> None:
    """Register the routes; call from create_app after SETTINGS and CLOCK are set.

    Login throttling (provisioning/rate_limit.py) lives in this process's memory: with several
    replicas each counts on its own. Sessions and single-use SSO token ids are in the database.
    """
    app[IDENTITY] = IdentityConfig.build(app[SETTINGS], app[CLOCK])
    add_onboarding_routes(app)
    add_auth_routes(app)
    add_sso_routes(app)
    add_portal_routes(app)
    add_employees_page_routes(app)
