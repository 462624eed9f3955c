"""kill -9 in the middle of a stream of publishes: every event whose publish was acknowledged is
delivered after the restart (at least once: a delivery cut short by the kill runs again)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.running import RunningSandbox

APP = "@app\ncrash-test\n\n@events\nslow\n"
# Slow enough that most deliveries are still running when the kill lands; each one that finishes
# appends its payload to a file, which survives the kill.
SUBSCRIBER = """
import json, time
def handler(event, context):
    time.sleep(0.2)
    with open({log!r}, "a") as f:
        for record in event["Records"]:
            f.write(record["Sns"]["Message"] + "\\n")
"""
PUBLISHERS = 10
KILL_AFTER = 60  # acknowledged publishes


def make_app(root: Path) -> Path:
    log = root / "delivered.jsonl"
    (root / "app.arc").write_text(APP)
    handler = root / "src" / "events" / "slow"
    handler.mkdir(parents=True)
    (handler / "lambda.py").write_text(SUBSCRIBER.format(log=str(log)))
    return log


def delivered(log: Path) -> set[int]:
    if not log.exists():
        return set()
    return {json.loads(line)["n"] for line in log.read_text().splitlines() if line.strip()}


async def test_acknowledged_events_survive_a_kill_9_and_are_delivered_after_the_restart(tmp_path: Path) -> None:
    log = make_app(tmp_path)
    acknowledged: set[int] = set()
    async with RunningSandbox(tmp_path) as sandbox:
        url = f"http://127.0.0.1:{sandbox.ports['events']}/events"
        killed = asyncio.Event()
        counter = iter(range(1_000_000))

        async def publisher(session: aiohttp.ClientSession) -> None:
            while not killed.is_set():
                n = next(counter)
                try:
                    async with session.post(url, json={"name": "slow", "payload": {"n": n}}) as response:
                        if response.status == 200:
                            acknowledged.add(n)
                except aiohttp.ClientError:
                    return  # the kill landed while this publish was in flight: not acknowledged
                if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    await sandbox.kill()

        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(publisher(session) for _ in range(PUBLISHERS)))
    lost_at_kill = acknowledged - delivered(log)
    assert lost_at_kill, "every delivery finished before the kill: the test proves nothing"

    async with RunningSandbox(tmp_path) as restarted:
        while not acknowledged <= delivered(log):
            await restarted.wait_for_line("@events slow attempt")
    assert acknowledged <= delivered(log)
