"""Per-app identity configuration: hasher, password policy, login limiter, cookie rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from argon2 import PasswordHasher

from bridge.clock import Clock
from bridge.settings import Settings
from provisioning.passwords import DEFAULT_HASHER, PasswordPolicy
from provisioning.rate_limit import LoginRateLimiter
from provisioning.tokens import STAFF_SESSION_TTL_MS

# Hosts on which browsers treat plain http as a secure context for development.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
SESSION_COOKIE = "hub_session"
# The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain attribute.
SECURE_SESSION_COOKIE = "__Host-hub_session"


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """How the session cookie is set: always HttpOnly and SameSite=Lax, Secure off localhost."""

    name: str
    secure: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> CookiePolicy:
        url = settings.bridge_public_url
        local_http = url.scheme == "http" and (url.host or "").lower() in _LOCAL_HOSTS
        secure = not local_http
        return cls(SECURE_SESSION_COOKIE if secure else SESSION_COOKIE, secure)


@dataclass(slots=True)
class IdentityConfig:
    """Mutable on purpose: tests swap in a cheap hasher before the app starts."""

    cookie: CookiePolicy
    limiter: LoginRateLimiter
    hasher: PasswordHasher = DEFAULT_HASHER
    policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    session_ttl_ms: int = STAFF_SESSION_TTL_MS

    @classmethod
    def build(cls, settings: Settings, clock: Clock) -> IdentityConfig:
        return cls(cookie=CookiePolicy.from_settings(settings), limiter=LoginRateLimiter(clock))


IDENTITY = web.AppKey("provisioning.identity", IdentityConfig)
