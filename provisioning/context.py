"""What the provisioning saga and service need, read from the running app at call time."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bridge.clients.chatwoot import ChatwootClient
from bridge.clients.chatwoot_platform import ChatwootPlatformClient
from bridge.clients.mailcow import MailcowClient
from bridge.clock import Clock
from bridge.departments import Departments
from bridge.errors import PermanentDeliveryError
from bridge.keys import CLOCK, DEPARTMENTS, METRICS, REPOSITORY, SETTINGS, UPSTREAMS
from bridge.metrics import Metrics
from bridge.settings import Settings
from bridge.state.database import Database
from bridge.state.repository import Repository
from bridge.upstreams import Upstreams
from provisioning.mailer import InviteMailer, SmtpConfig


class StepFailed(PermanentDeliveryError):
    """A provisioning step cannot succeed without an operator; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ProvisioningDeps:
    repository: Repository
    settings: Settings
    departments: Departments
    clock: Clock
    upstreams: Upstreams
    mailer: InviteMailer
    metrics: Metrics | None = None

    @property
    def db(self) -> Database:
        return self.repository.database

    @property
    def mail_domain(self) -> str:
        if not self.settings.mail_domain:
            raise StepFailed("MAIL_DOMAIN is not set")
        return self.settings.mail_domain.lower()

    def mailcow(self) -> MailcowClient:
        if self.upstreams.mailcow is None:
            raise StepFailed("Mailcow is not configured (MAILCOW_URL, MAILCOW_API_KEY)")
        return self.upstreams.mailcow

    def platform(self) -> ChatwootPlatformClient:
        if self.upstreams.chatwoot_platform is None:
            raise StepFailed(
                "the Chatwoot platform API is not configured (CHATWOOT_PLATFORM_TOKEN)"
            )
        return self.upstreams.chatwoot_platform

    @property
    def chatwoot(self) -> ChatwootClient:
        return self.upstreams.chatwoot

    def now_ms(self) -> int:
        return self.clock.now_ms()


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        from_address=settings.smtp_from,
        tls=settings.smtp_tls,
        username=settings.smtp_username or None,
        password=settings.smtp_password,
    )


def deps_from_app(app: web.Application) -> ProvisioningDeps:
    """Upstream clients exist only once the app runs: build this at call time, never earlier."""
    settings = app[SETTINGS]
    return ProvisioningDeps(
        repository=app[REPOSITORY],
        settings=settings,
        departments=app[DEPARTMENTS],
        clock=app[CLOCK],
        upstreams=app[UPSTREAMS],
        mailer=InviteMailer(smtp_config(settings)),
        metrics=app[METRICS],
    )
