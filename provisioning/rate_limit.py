"""Login rate limiting: per-IP sliding window plus per-account backoff that always expires."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from bridge.clock import Clock

IP_MAX_ATTEMPTS = 20
IP_WINDOW_MS = 5 * 60 * 1000
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_BASE_DELAY_MS = 30 * 1000
ACCOUNT_MAX_DELAY_MS = 15 * 60 * 1000
# Failures older than this are forgotten, so an old streak does not keep doubling new locks.
ACCOUNT_FAILURE_MEMORY_MS = 60 * 60 * 1000
MAX_TRACKED_KEYS = 10_000


@dataclass(frozen=True)
class RateDecision:
    """Whether a login attempt may proceed; `retry_after_s` feeds the Retry-After header."""

    allowed: bool
    retry_after_s: int = 0
    scope: Literal["ip", "account"] | None = None


@dataclass
class _AccountState:
    failures: int = 0
    last_failure_ms: int = 0
    locked_until_ms: int = 0


@dataclass
class _IpState:
    attempts: deque[int] = field(default_factory=deque)


_S = TypeVar("_S", _IpState, _AccountState)


class LoginRateLimiter:
    """In-process limiter (per replica). Call `check` before verifying a password, then
    `record_failure` or `record_success`.

    Account locks grow 30 s, 60 s, … up to 15 min and always expire; attempts made while an
    account is locked are refused without being counted, so hammering a victim's account can
    never push the lock beyond the cap. Use one canonical account key (the username) whether
    the person typed the username or the email address.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        ip_max_attempts: int = IP_MAX_ATTEMPTS,
        ip_window_ms: int = IP_WINDOW_MS,
        account_free_failures: int = ACCOUNT_FREE_FAILURES,
        account_base_delay_ms: int = ACCOUNT_BASE_DELAY_MS,
        account_max_delay_ms: int = ACCOUNT_MAX_DELAY_MS,
        account_failure_memory_ms: int = ACCOUNT_FAILURE_MEMORY_MS,
        max_tracked_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self._clock = clock
        self._ip_max = ip_max_attempts
        self._ip_window_ms = ip_window_ms
        self._free_failures = account_free_failures
        self._base_delay_ms = account_base_delay_ms
        self._max_delay_ms = account_max_delay_ms
        self._failure_memory_ms = account_failure_memory_ms
        self._max_keys = max_tracked_keys
        # OrderedDicts in least-recently-used order: pruning and eviction start at the front.
        self._ips: OrderedDict[str, _IpState] = OrderedDict()
        self._accounts: OrderedDict[str, _AccountState] = OrderedDict()

    @property
    def tracked_keys(self) -> int:
        return len(self._ips) + len(self._accounts)

    def check(self, ip: str, account: str) -> RateDecision:
        """Decide on an attempt; an allowed attempt is counted against the IP's window."""
        now = self._clock.now_ms()
        state = self._accounts.get(account)
        if state is not None and state.locked_until_ms > now:
            return RateDecision(False, _ceil_s(state.locked_until_ms - now), "account")
        ip_state = self._ips.get(ip)
        if ip_state is not None:
            _drop_older(ip_state.attempts, now - self._ip_window_ms)
            if len(ip_state.attempts) >= self._ip_max:
                retry_ms = ip_state.attempts[0] + self._ip_window_ms - now
                return RateDecision(False, _ceil_s(retry_ms), "ip")
        else:
            ip_state = _IpState()
            self._insert(self._ips, ip, ip_state, now)
        ip_state.attempts.append(now)
        self._ips.move_to_end(ip)
        return RateDecision(True)

    def record_failure(self, account: str) -> None:
        """Count a wrong password; from the 5th failure on the account is locked for a while."""
        now = self._clock.now_ms()
        state = self._accounts.get(account)
        if state is None:
            state = _AccountState()
            self._insert(self._accounts, account, state, now)
        elif now - state.last_failure_ms > self._failure_memory_ms:
            state.failures = 0
        if state.locked_until_ms > now:
            # Failures during a lock (should not happen after `check`) never extend it.
            return
        state.failures += 1
        state.last_failure_ms = now
        if state.failures >= self._free_failures:
            state.locked_until_ms = now + self.lock_delay_ms(state.failures)
        self._accounts.move_to_end(account)

    def record_success(self, account: str) -> None:
        """A correct password clears the account's failure history."""
        self._accounts.pop(account, None)

    def lock_delay_ms(self, failures: int) -> int:
        """Lock length after `failures` consecutive failures (0 below the free allowance)."""
        if failures < self._free_failures:
            return 0
        exponent = min(failures - self._free_failures, 32)
        delay_ms: int = self._base_delay_ms << exponent
        return min(delay_ms, self._max_delay_ms)

    def _insert(self, table: OrderedDict[str, _S], key: str, value: _S, now: int) -> None:
        if self.tracked_keys >= self._max_keys:
            self.prune(now)
        while self.tracked_keys >= self._max_keys:
            # Still full of live entries: forget the least recently used one of either table.
            victim_table = self._ips if len(self._ips) >= len(self._accounts) else self._accounts
            if not victim_table:
                break
            victim_table.popitem(last=False)
        table[key] = value

    def prune(self, now_ms: int | None = None) -> int:
        """Drop idle entries (empty IP windows, unlocked accounts with stale failures)."""
        now = self._clock.now_ms() if now_ms is None else now_ms
        removed = 0
        for ip in list(self._ips):
            attempts = self._ips[ip].attempts
            _drop_older(attempts, now - self._ip_window_ms)
            if not attempts:
                del self._ips[ip]
                removed += 1
        for account in list(self._accounts):
            state = self._accounts[account]
            idle = now - state.last_failure_ms > self._failure_memory_ms
            if state.locked_until_ms <= now and idle:
                del self._accounts[account]
                removed += 1
        return removed


def _drop_older(attempts: deque[int], cutoff_ms: int) -> None:
    while attempts and attempts[0] <= cutoff_ms:
        attempts.popleft()


def _ceil_s(ms: int) -> int:
    return max(1, -(-ms // 1000))
