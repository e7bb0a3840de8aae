"""The connection lock serves urgent waiters (webhooks) before background work, FIFO within each."""

from __future__ import annotations

import asyncio

from bridge.state.priority import PriorityLock, urgent_storage


async def test_urgent_waiters_go_first_and_order_holds_within_each_class() -> None:
    lock = PriorityLock()
    order: list[str] = []
    await lock.acquire()

    async def waiter(name: str, urgent: bool) -> None:
        if urgent:
            with urgent_storage():
                async with lock:
                    order.append(name)
        else:
            async with lock:
                order.append(name)

    tasks = [
        asyncio.create_task(waiter("bg1", False)),
        asyncio.create_task(waiter("bg2", False)),
        asyncio.create_task(waiter("hook1", True)),
        asyncio.create_task(waiter("hook2", True)),
    ]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["hook1", "hook2", "bg1", "bg2"]
    assert not lock.locked()


async def test_cancelled_waiter_does_not_leak_the_lock() -> None:
    lock = PriorityLock()
    await lock.acquire()
    cancelled = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    lock.release()
    assert not lock.locked()
    async with lock:
        assert lock.locked()


async def test_waiter_cancelled_after_release_skipped_it_does_not_crash() -> None:
    # release() drops a cancelled waiter from its queue before the waiter's task runs its
    # cancellation handler, which then must not try to remove it a second time.
    lock = PriorityLock()
    await lock.acquire()
    first = asyncio.create_task(lock.acquire())
    second = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    first.cancel()
    lock.release()  # skips the cancelled waiter, hands the lock to `second`
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1] is None
    assert lock.locked()
    lock.release()
    assert not lock.locked()
