"""Login rate limiting with a fake clock."""

from __future__ import annotations

from provisioning.rate_limit import ACCOUNT_MAX_DELAY_MS, LoginRateLimiter
from tests.provisioning.conftest import FakeClock


def fail(limiter: LoginRateLimiter, ip: str, account: str) -> bool:
    """One login attempt with a wrong password; returns whether it was allowed to run."""
    decision = limiter.check(ip, account)
    if decision.allowed:
        limiter.record_failure(account)
    return decision.allowed


def test_account_locks_after_five_failures(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for i in range(5):
        assert fail(limiter, f"10.0.0.{i}", "kay.ntulo")
    decision = limiter.check("10.0.1.1", "kay.ntulo")
    assert not decision.allowed
    assert decision.scope == "account"
    assert decision.retry_after_s == 30
    # Another account is unaffected.
    assert limiter.check("10.0.1.1", "other.person").allowed


def test_lock_expires_and_then_doubles(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for _ in range(5):
        fail(limiter, "10.0.0.1", "kay.ntulo")
    clock.advance(29)
    assert not limiter.check("10.0.0.1", "kay.ntulo").allowed
    clock.advance(1)
    assert fail(limiter, "10.0.0.1", "kay.ntulo")  # lock expired; 6th failure
    decision = limiter.check("10.0.0.1", "kay.ntulo")
    assert not decision.allowed
    assert decision.retry_after_s == 60


def test_delay_schedule_is_capped() -> None:
    limiter = LoginRateLimiter(FakeClock())
    delays = [limiter.lock_delay_ms(n) for n in range(1, 60)]
    assert delays[:4] == [0, 0, 0, 0]
    assert delays[4:8] == [30_000, 60_000, 120_000, 240_000]
    assert max(delays) == ACCOUNT_MAX_DELAY_MS
    assert delays[-1] == 15 * 60 * 1000


def test_success_resets_account_counter(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for _ in range(4):
        fail(limiter, "10.0.0.1", "kay.ntulo")
    assert limiter.check("10.0.0.1", "kay.ntulo").allowed
    limiter.record_success("kay.ntulo")
    for _ in range(4):
        assert fail(limiter, "10.0.0.1", "kay.ntulo")
    assert limiter.check("10.0.0.1", "kay.ntulo").allowed


def test_attacker_cannot_extend_lock_beyond_cap(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock, ip_max_attempts=10**9)
    # A long attack: retry every second for three hours from many addresses.
    longest_gap_s = 0  # longest time between two attempts that were let through
    last_allowed = 0
    for second in range(3 * 3600):
        if fail(limiter, f"203.0.113.{second % 250}", "victim"):
            longest_gap_s = max(longest_gap_s, second - last_allowed)
            last_allowed = second
        clock.advance(1)
    cap_s = ACCOUNT_MAX_DELAY_MS // 1000
    assert longest_gap_s == cap_s  # the cap was reached, never exceeded
    # The victim gets in as soon as the current lock runs out.
    remaining = limiter.check("198.51.100.7", "victim").retry_after_s
    assert remaining <= ACCOUNT_MAX_DELAY_MS // 1000
    clock.advance(remaining)
    assert limiter.check("198.51.100.7", "victim").allowed


def test_old_failures_are_forgotten(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for _ in range(4):
        fail(limiter, "10.0.0.1", "kay.ntulo")
    clock.advance(2 * 3600)
    fail(limiter, "10.0.0.1", "kay.ntulo")
    assert limiter.check("10.0.0.1", "kay.ntulo").allowed


def test_ip_window(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for i in range(20):
        assert limiter.check("192.0.2.9", f"user{i}").allowed
        clock.advance(1)
    decision = limiter.check("192.0.2.9", "someone")
    assert not decision.allowed
    assert decision.scope == "ip"
    assert 0 < decision.retry_after_s <= 300
    assert limiter.check("192.0.2.10", "someone").allowed
    clock.advance(decision.retry_after_s)
    assert limiter.check("192.0.2.9", "someone").allowed


def test_refused_attempts_do_not_count_against_ip_window(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for _ in range(20):
        limiter.check("192.0.2.9", "a")
    for _ in range(1000):
        assert not limiter.check("192.0.2.9", "a").allowed
    clock.advance(300)
    assert limiter.check("192.0.2.9", "a").allowed


def test_memory_bound(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock, max_tracked_keys=100)
    for i in range(5000):
        fail(limiter, f"ip-{i}", f"account-{i}")
        assert limiter.tracked_keys <= 100
    # The newest entries are the ones kept.
    for _ in range(4):
        fail(limiter, "ip-new", "account-4999")
    assert not limiter.check("ip-new", "account-4999").allowed


def test_prune_drops_idle_entries(clock: FakeClock) -> None:
    limiter = LoginRateLimiter(clock)
    for i in range(50):
        fail(limiter, f"ip-{i}", f"account-{i}")
    assert limiter.tracked_keys == 100
    clock.advance(2 * 3600)
    assert limiter.prune() == 100
    assert limiter.tracked_keys == 0
