"""`sandbox.event_loop`: the loop `arc-sandbox start` runs on polls for ready sockets before blocking only
while waits have been short, never for longer than the timeout it was given, and not on one CPU."""

from __future__ import annotations

import asyncio
import selectors
import socket

from sandbox.event_loop import PollingSelector, new_event_loop


class CountingSelector(PollingSelector):
    """Counts the selector's polls (timeout 0) and blocking waits."""

    def __init__(self, **limits: int) -> None:
        super().__init__(**limits)
        self.polls = 0
        self.waits: list[float | None] = []

    def _wait(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0:
            self.polls += 1
        else:
            self.waits.append(timeout)
        return super()._wait(timeout)


def test_a_short_wait_makes_the_next_one_poll_first_and_a_long_one_stops_it() -> None:
    left, right = socket.socketpair()
    with left, right, CountingSelector(poll_ns=10**9, short_wait_ns=10**10) as selector:
        selector.register(right, selectors.EVENT_READ)
        assert selector.select(0.001) == [] and selector.polling  # a wait under short_wait_ns
        left.send(b"x")
        (ready,) = selector.select(5)
        assert ready[0].fileobj is right and selector.polls == 1 and selector.waits == [0.001]  # found by the poll
    left, right = socket.socketpair()
    with left, right, CountingSelector(poll_ns=10**9, short_wait_ns=0) as selector:
        selector.register(right, selectors.EVENT_READ)
        assert selector.select(0.001) == [] and not selector.polling  # a wait longer than short_wait_ns
        assert selector.select(0.001) == [] and selector.polls == 0  # so no poll before this one


def test_a_poll_never_outlasts_the_timeout() -> None:
    left, right = socket.socketpair()
    with left, right, CountingSelector(poll_ns=10**10, short_wait_ns=10**10) as selector:
        selector.register(right, selectors.EVENT_READ)
        selector.polling = True
        assert selector.select(0.002) == []  # a 10 s poll budget, cut to the 2 ms timeout
        assert selector.polls >= 1 and selector.waits == []  # and nothing of the timeout left to block for
        polls = selector.polls
        assert selector.select(0) == [] and selector.polls == polls + 1  # timeout 0: one poll, never a loop


async def _echo_through(client_end: socket.socket, server_end: socket.socket) -> bytes:
    reader, writer = await asyncio.open_connection(sock=server_end)
    client_end.sendall(b"ping")
    data = await reader.readexactly(4)
    writer.close()
    return data


def test_the_loop_polls_only_with_more_than_one_cpu() -> None:
    for cpus, polling in ((1, False), (2, True)):
        loop = new_event_loop(cpus)
        try:
            assert isinstance(getattr(loop, "_selector", None), PollingSelector) is polling
            client_end, server_end = socket.socketpair()
            with client_end:
                assert loop.run_until_complete(_echo_through(client_end, server_end)) == b"ping"
        finally:
            loop.close()
