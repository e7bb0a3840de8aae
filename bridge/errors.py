"""Domain exceptions of the bridge.

BridgeError
 ├── ConfigError                    settings or departments file unusable (exit code 2)
 ├── PayloadError                   inbound payload failed validation (→ 422, with the field path)
 ├── InvalidTransition              FSM trigger not allowed from the current state
 ├── StorageUnavailable             database unreachable (→ 503 so the caller retries)
 ├── UnsupportedDatabaseVersion     database schema newer than this code
 └── DeliveryError                  an outbound call failed
      ├── RetryableDeliveryError    transport error, timeout, 408/425/429/5xx (+ Retry-After)
      └── PermanentDeliveryError    any other 4xx, or an answer that does not fit the contract
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """Configuration cannot be used; the CLI exits with code 2."""


class PayloadError(BridgeError):
    """An inbound payload does not fit its model."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class InvalidTransition(BridgeError):
    """The contact FSM refused a trigger in the current state."""

    def __init__(self, state: str, trigger: str) -> None:
        super().__init__(f"trigger {trigger!r} is not allowed in state {state!r}")
        self.state = state
        self.trigger = trigger


class StorageUnavailable(BridgeError):
    """The database cannot be reached right now."""


class UnsupportedDatabaseVersion(BridgeError):
    """The database was migrated by a newer version of the bridge."""


class DeliveryError(BridgeError):
    """An outbound call to an upstream system failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableDeliveryError(DeliveryError):
    """Worth trying again later (the outbox decides when)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        never_sent: bool = False,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after_s = retry_after_s
        # True when the request provably never reached the upstream (connection refused):
        # then even a call that is not idempotent upstream may be sent again.
        self.never_sent = never_sent


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help; the outbox dead-letters the item."""
