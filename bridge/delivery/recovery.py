"""Which upstreams fail, the calls waiting for each, and how their recovery is noticed.

While an upstream gives no answer (refused, reset, timed out, or a gateway's 502/503/504 without
Retry-After), the calls to it wait out a growing backoff: minutes, after a long outage. Two
things bring them back promptly once it answers again: the first call that succeeds brings every
waiting call to that upstream forward, and every `probe_interval_s` one waiting call goes early
as a probe. A failed probe does not count towards that call's attempts, so probing through a
long outage cannot dead-letter it. Calls answered with an HTTP error about the request itself,
or with a Retry-After, keep their backoff.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator

from bridge.clock import Clock
from bridge.errors import RetryableDeliveryError
from bridge.state.repository import Repository

log = logging.getLogger(__name__)

# A gateway's "the service is not there" (no Retry-After): like no answer at all.
_SERVICE_DOWN_STATUSES = frozenset({502, 503, 504})


def unanswered(error: BaseException | None, retry_after_s: float | None) -> bool:
    """The upstream gave no answer (refused, reset, timed out) or said it is down, as opposed to
    an HTTP status about this one request, or one with a Retry-After to honour."""
    if retry_after_s is not None:
        return False
    if error is None or isinstance(error, TimeoutError):
        return True
    if not isinstance(error, RetryableDeliveryError):
        return False
    return error.status is None or error.status in _SERVICE_DOWN_STATUSES


def failure_label(error: BaseException | None) -> str:
    """What fails, as /readyz names it."""
    status = getattr(error, "status", None)
    if status is not None:
        return f"HTTP {status}"
    if error is None or isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, RetryableDeliveryError):
        return "unreachable" if error.never_sent else "connection failed"
    return type(error).__name__


class UpstreamHealth:
    """Per target system (`tb`, `cw`, `wa`, …): failing since when, waiting calls, probes."""

    def __init__(self, repository: Repository, clock: Clock, probe_interval_s: float) -> None:
        self._repository = repository
        self._clock = clock
        self._probe_interval_ms = int(probe_interval_s * 1000)
        # Target → (first failure ms, what fails) while its calls fail; for /readyz.
        self.failing: dict[str, tuple[int, str]] = {}
        self._waiting: dict[str, set[int]] = {}  # target → outbox item ids
        self._next_probe_ms: dict[str, int] = {}
        self._probes: dict[int, tuple[str, int]] = {}  # item id → (target, sent ms)
        # Items whose next attempt is their last: never probed, so a handler that treats its
        # last attempt as final (provisioning) is not rushed into it by probing.
        self._last_attempt: set[int] = set()
        self._calls: Counter[str] = Counter()  # calls in flight per target

    @contextlib.contextmanager
    def calling(self, target: str) -> Iterator[None]:
        self._calls[target] += 1
        try:
            yield
        finally:
            self._calls[target] -= 1

    def take_probe(self, item_id: int) -> bool:
        """True (once) when this claimed item is a probe."""
        return self._probes.pop(item_id, None) is not None

    def failed(self, target: str, error: BaseException | None) -> None:
        since = self.failing.get(target, (self._clock.now_ms(), ""))[0]
        self.failing[target] = (since, failure_label(error))

    def waits(
        self,
        target: str,
        item_id: int,
        error: BaseException | None,
        retry_after_s: float | None,
        *,
        last_attempt: bool = False,
    ) -> None:
        """The item was rescheduled after `error`: wait for the upstream's recovery, or not."""
        waiting = self._waiting.setdefault(target, set())
        if not unanswered(error, retry_after_s):
            waiting.discard(item_id)
            return
        waiting.add(item_id)
        if last_attempt:
            self._last_attempt.add(item_id)
        self._next_probe_ms.setdefault(target, self._clock.now_ms() + self._probe_interval_ms)

    async def succeeded(self, target: str) -> int:
        """A call to `target` succeeded: its waiting calls are due now. Returns how many."""
        if self.failing.pop(target, None) is None:
            return 0
        item_ids = self._waiting.pop(target, set())
        self._last_attempt -= item_ids
        self._next_probe_ms.pop(target, None)
        if not item_ids:
            return 0
        try:
            count = await self._repository.retry_now(sorted(item_ids), self._clock.now_ms())
        except Exception:
            log.exception("bringing %s retries forward failed; they keep their backoff", target)
            return 0
        if count:
            log.info("%s answers again: %d waiting calls retried now", target, count)
        return count

    async def probe(self) -> int:
        """One waiting call per failing upstream with nothing in flight goes now, at most every
        probe interval. Returns how many were brought forward."""
        if not self._waiting:
            return 0
        now_ms = self._clock.now_ms()
        # A probe another replica claimed (or that never came back) stops blocking after a while.
        out = {
            t for t, sent_ms in self._probes.values() if now_ms - sent_ms < self._probe_interval_ms
        }
        probed = 0
        for target, waiting in self._waiting.items():
            candidates = waiting - self._last_attempt
            if not candidates or target not in self.failing or target in out:
                continue
            if self._calls[target]:
                continue
            if now_ms < self._next_probe_ms.get(target, now_ms):
                continue
            self._next_probe_ms[target] = now_ms + self._probe_interval_ms
            item_id = min(candidates)
            try:
                brought = await self._repository.retry_now([item_id], now_ms)
            except Exception:
                log.exception("probing %s failed; its calls keep their backoff", target)
                continue
            if brought:
                self._probes[item_id] = (target, now_ms)
                probed += 1
            else:
                waiting.discard(item_id)  # settled meanwhile, or due anyway
                self._last_attempt.discard(item_id)
        return probed
