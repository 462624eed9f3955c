"""The sync handlers' thread pool: results, failures, batching of quick calls, a thread for each slow
or stuck one, timeouts, and stopping."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator

import pytest

from sandbox._invoker.pool import CallTimeout, HandlerPool

BARRIER_TIMEOUT = 10  # seconds; a call left without a thread breaks its barrier and fails the test


@pytest.fixture
async def pool() -> AsyncIterator[HandlerPool]:
    handler_pool = HandlerPool(16)
    yield handler_pool
    handler_pool.stop()


async def test_pool_returns_results_on_a_worker_thread(pool: HandlerPool) -> None:
    loop_thread = threading.get_ident()
    result = await pool.run(threading.get_ident, 5)
    assert result != loop_thread
    assert await pool.run(lambda: {"n": 1}, 5) == {"n": 1}


async def test_pool_raises_what_the_call_raised(pool: HandlerPool) -> None:
    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await pool.run(fail, 5)


@pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt(), StopIteration("done")])
async def test_pool_turns_exits_and_stop_iteration_into_a_failed_call(pool: HandlerPool, error: BaseException) -> None:
    def leave() -> None:
        raise error

    with pytest.raises(RuntimeError, match=f"the handler raised {type(error).__name__}") as raised:
        await pool.run(leave, 5)
    assert raised.value.__cause__ is error
    assert await pool.run(lambda: "still serving", 5) == "still serving"


async def test_pool_runs_a_burst_of_quick_calls_on_few_threads(pool: HandlerPool) -> None:
    await pool.run(lambda: None, 5, key="quick")  # now the pool knows the function is quick
    results = await asyncio.gather(*(pool.run(functools.partial(int, i), 5, key="quick") for i in range(200)))
    assert results == list(range(200))
    # run_in_executor would have started a thread for nearly every call of the burst.
    assert pool.threads <= 4


async def test_pool_gives_each_call_of_a_slow_function_its_own_thread(pool: HandlerPool) -> None:
    # Each call waits for all the others: they pass only if every one of them runs at the same time.
    barrier = threading.Barrier(8)
    calls = [pool.run(lambda: barrier.wait(BARRIER_TIMEOUT), 30, key="waits") for _ in range(8)]
    assert sorted(await asyncio.gather(*calls)) == list(range(8))


async def test_pool_moves_calls_queued_behind_a_quick_function_that_blocks() -> None:
    pool = HandlerPool(16, stuck_after=0.01)
    try:
        for _ in range(3):
            await pool.run(lambda: None, 5, key="usually-quick")
        assert (pool.typical_seconds("usually-quick") or 1) < 0.002
        barrier = threading.Barrier(6)
        calls = [pool.run(lambda: barrier.wait(BARRIER_TIMEOUT), 30, key="usually-quick") for _ in range(6)]
        assert sorted(await asyncio.gather(*calls)) == list(range(6))
    finally:
        pool.stop()


async def test_pool_times_out_a_runaway_call_and_its_thread_serves_again() -> None:
    def spin() -> None:
        while True:
            pass

    pool = HandlerPool(1)  # one thread: the call after the timeout can only run on the interrupted one
    try:
        with pytest.raises(CallTimeout):
            await pool.run(spin, 0.1, key="spin")
        assert await pool.run(lambda: "next", 5, key="spin") == "next"
        assert pool.threads == 1
    finally:
        pool.stop()


async def test_pool_drops_a_call_that_timed_out_before_it_started() -> None:
    pool = HandlerPool(1)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def block() -> bool:
        started.set()
        return release.wait(BARRIER_TIMEOUT)

    try:
        blocker = asyncio.ensure_future(pool.run(block, 30, key="blocker"))
        assert await asyncio.to_thread(started.wait, BARRIER_TIMEOUT)
        with pytest.raises(CallTimeout):
            await pool.run(lambda: ran.append("late"), 0.05, key="queued")
        release.set()
        assert await blocker is True
        assert await pool.run(lambda: "after", 5) == "after"
        assert ran == []
    finally:
        pool.stop()


async def test_pool_stops_its_parked_threads_and_refuses_new_calls() -> None:
    pool = HandlerPool(4, name="stop-test")
    barrier = threading.Barrier(3)
    await asyncio.gather(*(pool.run(lambda: barrier.wait(BARRIER_TIMEOUT), 30) for _ in range(3)))
    workers = [t for t in threading.enumerate() if t.name.startswith("stop-test")]
    assert len(workers) == pool.threads >= 3
    pool.stop()
    for thread in workers:
        thread.join(BARRIER_TIMEOUT)
        assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="stopped"):
        await pool.run(lambda: None, 5)


async def test_pool_serves_one_loop_only(pool: HandlerPool) -> None:
    await pool.run(lambda: None, 5)

    def other_loop() -> None:
        asyncio.run(pool.run(lambda: None, 5))

    with pytest.raises(RuntimeError, match="event loop"):
        await asyncio.to_thread(other_loop)


def test_pool_threads_are_daemons_so_a_stuck_handler_never_holds_up_exit() -> None:
    async def start_one() -> HandlerPool:
        pool = HandlerPool(1, name="daemon-test")
        await pool.run(lambda: None, 5)
        return pool

    pool = asyncio.run(start_one())
    workers = [t for t in threading.enumerate() if t.name.startswith("daemon-test")]
    assert workers and all(t.daemon for t in workers)
    pool.stop()
