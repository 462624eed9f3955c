"""TransactWriteItems' ClientRequestToken memory: ten minutes, bounded, expiring from the front."""

from __future__ import annotations

import pytest

from sandbox.clock import FakeClock
from sandbox.dynamodb.transactions import TOKEN_SECONDS, TokenCache
from sandbox.errors import IdempotentParameterMismatchError


def test_a_token_answers_a_retry_for_ten_minutes_then_is_forgotten() -> None:
    clock = FakeClock()
    tokens = TokenCache(clock)
    tokens.remember("t1", "request", {"answer": 1})
    clock.advance(TOKEN_SECONDS - 1)
    assert tokens.lookup("t1", "request") == {"answer": 1}
    with pytest.raises(IdempotentParameterMismatchError):
        tokens.lookup("t1", "another request")
    clock.advance(1)
    assert tokens.lookup("t1", "request") is None
    assert len(tokens) == 0


def test_expired_tokens_are_dropped_as_new_ones_arrive_so_the_cache_holds_ten_minutes_at_most() -> None:
    clock = FakeClock()
    tokens = TokenCache(clock)
    for i in range(1_000):
        tokens.remember(f"t{i}", "request", {})
        clock.advance(1.0)  # one call a second: ten minutes is 600 tokens
    assert len(tokens) == TOKEN_SECONDS
    assert tokens.lookup("t400", "request") is None  # expired: a new transaction, not the old answer
    assert tokens.lookup("t401", "request") == {}


def test_the_cache_never_holds_more_than_its_cap_dropping_the_oldest() -> None:
    clock = FakeClock()
    tokens = TokenCache(clock, max_tokens=3)
    for i in range(5):
        tokens.remember(f"t{i}", "request", {"n": i})
    assert len(tokens) == 3
    assert tokens.lookup("t1", "request") is None
    assert tokens.lookup("t4", "request") == {"n": 4}
