"""Which upstreams fail, the calls waiting for each, and how their recovery is noticed.

While an upstream gives no answer (refused, reset, timed out, or a gateway's 502/503/504 without
Retry-After), the calls to it wait out a growing backoff: minutes, after a long outage. Two
things bring them back promptly once it answers again:

- the first call to it that succeeds brings every call waiting for it forward (a request that
  times out on its own, while its neighbours succeed, is then retried at the pace of its own
  timeouts rather than its backoff: its attempts run out in minutes, which unblocks its contact
  sooner, and it waits in the dead letters);
- every `probe_interval_s` after the last probe finished, one waiting call goes early as a
  probe, in turns. A probe that finds the upstream still silent does not count towards that
  call's attempts and leaves its own schedule as it was, so probing through a long outage
  neither dead-letters a call nor keeps it from its own retries. A call whose next attempt is
  its last is never probed: provisioning records its last attempt as final.

This bookkeeping is per process. On PostgreSQL another replica may claim a probed call; it then
counts as that replica's ordinary attempt (`take_probe` tells the two apart by the due time).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from bridge.clock import Clock
from bridge.delivery.backoff import BackoffPolicy
from bridge.errors import RetryableDeliveryError
from bridge.state.records import OutboxItem, OutboxStatus
from bridge.state.repository import Repository

log = logging.getLogger(__name__)

# A gateway's "the service is not there" (no Retry-After): like no answer at all.
_SERVICE_DOWN_STATUSES = frozenset({502, 503, 504})
# Items looked at per probe round when the first candidates cannot be probed.
_CANDIDATES_PER_ROUND = 3


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


@dataclass(frozen=True, slots=True)
class Probe:
    target: str
    sent_ms: int  # the due time the probe gave the item (and when)
    own_due_ms: int  # the item's own due time, restored when the probe fails


class UpstreamHealth:
    """Per target system (`typebot`, `chatwoot`, …): failing since when, waiting calls, probes."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        policy: BackoffPolicy,
        probe_interval_s: float,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._policy = policy
        self._probe_interval_ms = int(probe_interval_s * 1000)
        # Target → (first failure ms, what fails) while its calls fail; for /readyz.
        self.failing: dict[str, tuple[int, str]] = {}
        self._waiting: dict[str, set[int]] = {}  # target → outbox item ids
        self._probes: dict[int, Probe] = {}  # item id → the probe out for it
        self._next_probe_ms: dict[str, int] = {}
        self._last_probed: dict[str, int] = {}  # target → item id, for taking turns
        self._calls: Counter[str] = Counter()  # calls in flight per target

    @contextlib.contextmanager
    def calling(self, target: str) -> Iterator[None]:
        self._calls[target] += 1
        try:
            yield
        finally:
            self._calls[target] -= 1

    def take_probe(self, item: OutboxItem) -> Probe | None:
        """The probe this claim is, if it is one (an item claimed on its own schedule, here or
        by another replica, has a different due time than the probe gave it)."""
        probe = self._probes.pop(item.id, None)
        if probe is None or item.available_at_ms != probe.sent_ms:
            return None
        return probe

    def probe_finished(self, probe: Probe) -> None:
        """The next probe waits a whole interval after this one ended, however long it took."""
        self._next_probe_ms[probe.target] = self._clock.now_ms() + self._probe_interval_ms

    def failed(self, target: str, error: BaseException | None) -> None:
        since = self.failing.get(target, (self._clock.now_ms(), ""))[0]
        self.failing[target] = (since, failure_label(error))

    def waits(
        self, target: str, item_id: int, error: BaseException | None, retry_after_s: float | None
    ) -> None:
        """The item was rescheduled after `error`: wait for the upstream's recovery, or not."""
        if not unanswered(error, retry_after_s):
            self.forget(item_id)  # keeps its backoff
            return
        self._waiting.setdefault(target, set()).add(item_id)
        self._next_probe_ms.setdefault(target, self._clock.now_ms() + self._probe_interval_ms)

    def forget(self, item_id: int) -> None:
        """The item is settled (delivered, dead) or keeps its backoff."""
        if not self._waiting:
            return  # every successful call comes here: nothing to do while all is well
        for target, waiting in list(self._waiting.items()):
            waiting.discard(item_id)
            if not waiting:
                del self._waiting[target]
                self._next_probe_ms.pop(target, None)

    async def succeeded(self, target: str, item: OutboxItem) -> int:
        """A call to `target` succeeded: its waiting calls are due now. Returns how many.

        Not when the item was on its last attempt: a handler may settle that one after giving
        up on a silent upstream (provisioning records the step as failed). A probe notices a
        real recovery within an interval anyway."""
        self.forget(item.id)
        if self._policy.exhausted(item.attempts) or self.failing.pop(target, None) is None:
            return 0
        item_ids = self._waiting.pop(target, set())
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
        """One waiting call per failing upstream with nothing in flight goes now, at most once
        per probe interval. Returns how many were brought forward."""
        if not self._waiting:
            return 0
        now_ms = self._clock.now_ms()
        self._expire_probes(now_ms)
        probing = {p.target for p in self._probes.values()}
        probed = 0
        for target, waiting in list(self._waiting.items()):
            if target not in self.failing or target in probing or self._calls[target]:
                continue
            if now_ms < self._next_probe_ms.get(target, now_ms):
                continue
            self._next_probe_ms[target] = now_ms + self._probe_interval_ms
            if await self._probe_one(target, sorted(waiting), now_ms):
                probed += 1
        return probed

    def _expire_probes(self, now_ms: int) -> None:
        # A probe claimed by another replica, or never claimed, stops blocking after a while.
        stale = now_ms - 2 * self._probe_interval_ms
        for item_id, probe in list(self._probes.items()):
            if probe.sent_ms < stale and self._calls[probe.target] == 0:
                del self._probes[item_id]

    async def _probe_one(self, target: str, waiting: list[int], now_ms: int) -> bool:
        last = self._last_probed.get(target, 0)
        turn = [i for i in waiting if i > last] + [i for i in waiting if i <= last]
        for item_id in turn[:_CANDIDATES_PER_ROUND]:
            self._last_probed[target] = item_id
            try:
                item = await self._repository.get_outbox_item(item_id)
                if item is None or item.status is not OutboxStatus.PENDING:
                    self.forget(item_id)
                    continue
                if self._policy.exhausted(item.attempts + 1) or item.available_at_ms <= now_ms:
                    continue  # its last attempt keeps its time; a due item needs no probe
                if not await self._repository.retry_now([item_id], now_ms):
                    continue
            except Exception:
                log.exception("probing %s failed; its calls keep their backoff", target)
                return False
            self._probes[item_id] = Probe(target, now_ms, item.available_at_ms)
            return True
        return False
