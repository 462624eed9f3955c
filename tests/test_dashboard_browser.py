"""The dashboard in a real headless Chromium, watching the example app: live invocations, a dead letter
replayed then delivered, an item edited and read back with boto3, a schedule run now.

Each view is saved as a screenshot under test-artifacts/ to be looked at. The tests skip, saying
why, only where Chromium or Playwright is not installed (.ci/run installs both).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.threaded import ThreadedSandbox, threaded_sandbox

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "dummy", "aws_secret_access_key": "dummy"}
TIMEOUT_MS = 10_000
API = "/_dashboard/api/"
SCHEDULE = "\n@scheduled\nnightly-report rate(1 day)\n"
TASKS_TABLE = "tasks\n  taskID *String\n"
INDEX = "\n@tables-indexes\ntasks\n  status *String\n  name byStatus\n"  # so the Tables view has an index to choose
TASKS = "background-tasks-staging-tasks"
REPORT_HANDLER = '''"""@scheduled nightly-report: count the tasks by status."""

from sandbox import arc


def handler(event, context):
    tasks = arc.tables().tasks.scan_all()
    return {"tasks": len(tasks)}
'''

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for every browser test: they all live in this module. Not session-scoped, because
    Playwright's sync API runs an event loop on this thread for as long as it is open, and the async
    tests that follow need the thread's loop back."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[dev]' installs it)")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does this when run as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, plus one @scheduled function to run now and a TTL and an index on `tasks` to show."""
    app = tmp_path_factory.mktemp("dashboard") / "example-app"
    shutil.copytree(ROOT / "example-app", app, ignore=shutil.ignore_patterns(".sandbox"))
    manifest = (app / "app.arc").read_text()
    assert TASKS_TABLE in manifest
    (app / "app.arc").write_text(manifest.replace(TASKS_TABLE, TASKS_TABLE + "  expires TTL\n") + SCHEDULE + INDEX)
    handler_dir = app / "src" / "scheduled" / "nightly-report"
    handler_dir.mkdir(parents=True)
    (handler_dir / "lambda.py").write_text(REPORT_HANDLER)
    return app


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(start=time.time())


@pytest.fixture(scope="module")
def running(app_dir: Path, clock: FakeClock) -> Iterator[ThreadedSandbox]:
    with threaded_sandbox(SandboxConfig.ephemeral(app_dir, run_schedules=False), clock=clock) as running:
        yield running


@pytest.fixture
def page(browser: Any, running: ThreadedSandbox) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 860}, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    elsewhere = [url for url in requested if not url.startswith(running.dashboard_url)]
    assert not elsewhere, f"the dashboard fetched from somewhere else than the sandbox: {elsewhere}"


def _open(page: Any, running: ThreadedSandbox, view: str) -> None:
    page.goto(running.dashboard_url + f"#/{view}")
    page.wait_for_selector("#live.on")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"))


def _post_form(running: ThreadedSandbox, path: str, fields: str) -> int:
    url = f"http://127.0.0.1:{running.ports['http']}{path}"
    request = urllib.request.Request(url, data=fields.encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _dynamodb(running: ThreadedSandbox) -> Any:
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{running.ports['tables']}", **KEYS)


def _settle(running: ThreadedSandbox) -> None:
    running.run(running.sandbox.settle(raise_on_failure=False))


def test_dashboard_shows_an_invocation_live_and_opens_it(page: Any, running: ThreadedSandbox) -> None:
    _open(page, running, "invocations")
    page.wait_for_selector("#no-invocations")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    assert _post_form(running, "/background", "background=Write+the+report") == 302
    row = page.locator("#invocation-rows tr", has_text="post /background").first
    row.wait_for()
    _settle(running)  # the event and the queue steps run: more rows arrive live
    page.locator("#invocation-rows tr", has_text="task-progress").first.wait_for()
    recorded = running.sandbox.recorder.recorded
    page.wait_for_function(
        f"() => document.querySelector('#recorded').innerText === '{recorded} recorded'"
        f" && document.querySelectorAll('#invocation-rows tr').length === {recorded}"
    )
    assert [url for url in fetched if API in url] == []  # every row came over the live stream: nothing polled
    row.click()
    page.wait_for_selector("#invocation-event")
    event = json.loads(page.locator("#invocation-event").inner_text())
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["rawPath"] == "/background"
    assert "ok" in page.locator("#drawer .pill").first.inner_text()
    assert json.loads(page.locator("#invocation-result").inner_text())["statusCode"] == 302  # its result
    _shot(page, "invocation")
    page.keyboard.press("Escape")
    page.select_option("#filter-function", "task-progress")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#invocation-rows tr')].every(r => r.innerText.includes('task-progress'))"
    )
    page.select_option("#filter-function", "")
    running.run(running.sandbox.bus.publish("background-task", {"name": "no id"}))  # KeyError: 'taskID'
    _settle(running)  # the first attempt and two retries fail
    failed = page.locator("#invocation-rows tr", has_text="error")
    failed.nth(2).wait_for()
    page.select_option("#filter-status", "error")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#invocation-rows tr')].every(r => r.innerText.includes('error'))"
    )
    failed.first.click()
    assert "KeyError: 'taskID'" in page.locator("#invocation-error").inner_text()
    assert "lambda.py" in page.locator("#invocation-logs").inner_text()  # its log lines: the traceback it printed
    page.keyboard.press("Escape")
    page.select_option("#filter-status", "")
    _shot(page, "invocations")


def test_dashboard_shows_each_attempt_of_an_async_invoke_as_its_own_row(page: Any, running: ThreadedSandbox) -> None:
    _open(page, running, "invocations")
    lam = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{running.ports['events']}", **KEYS)
    answer = lam.invoke(FunctionName="background-task", InvocationType="Event", Payload=json.dumps({"name": "thrice"}))
    request_id = answer["ResponseMetadata"]["RequestId"]
    _settle(running)  # no taskID: it fails three times, each attempt with the 202's request id
    rows = page.locator(f"#invocation-rows tr[data-id='{request_id}']")
    rows.nth(2).wait_for()
    assert rows.count() == 3  # one row each, live: not one row overwritten by the next attempt
    seqs = [int(rows.nth(n).get_attribute("data-seq")) for n in range(3)]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 3
    assert [rows.nth(n).locator(".tag.attempt").all_inner_texts() for n in range(3)] == [
        ["attempt 3"], ["attempt 2"], []
    ]  # fmt: skip
    assert all("error" in rows.nth(n).inner_text() for n in range(3))
    rows.nth(1).click()
    page.locator("#drawer-title", has_text="attempt 2").wait_for()
    assert page.locator("#invocation-request-id").inner_text() == request_id
    assert page.locator("#invocation-attempts .current").inner_text().startswith("#2")
    assert "lambda.py" in page.locator("#invocation-logs").inner_text()  # this attempt's own traceback
    assert page.eval_on_selector_all("#invocation-rows tr.selected", "rows => rows.map(r => Number(r.dataset.seq))") == [
        seqs[1]
    ]  # fmt: skip
    _shot(page, "invocation-attempts")
    page.locator("#invocation-attempts a", has_text="#1").click()  # the drawer leads to the other attempts
    page.locator("#invocation-attempts .current", has_text="#1").wait_for()
    assert page.locator("#drawer-title").inner_text() == "background-task"
    page.keyboard.press("Escape")

    # Its dead letter names the request id, which opens the last attempt.
    _open(page, running, "queues")
    invoked = page.locator("[data-invoke='background-task'] table.dead-letters tr", has_text="thrice")
    invoked.locator("td a").click()
    page.click("#dead-letter-request")
    page.locator("#drawer-title", has_text="attempt 3").wait_for()
    assert page.locator("#invocation-request-id").inner_text() == request_id
    page.keyboard.press("Escape")
    running.run(running.sandbox.bus.purge_dead_letters())


def test_dashboard_replays_a_dead_letter_that_is_then_delivered(page: Any, running: ThreadedSandbox) -> None:
    _open(page, running, "queues")
    # task-progress fails for a task that is not in the table: three receives, then a dead letter.
    page.select_option("#publish-target", "queues:task-progress")
    page.fill("#publish-payload", json.dumps({"taskID": "ghost-task", "status": "processing"}))
    page.click("#publish-send")
    page.wait_for_selector("#toast:has-text('Sent')")
    running.run(running.sandbox.bus.drain())  # the first receive fails: the message waits to be retried
    card = page.locator("[data-queue='task-progress']")
    waiting = card.locator("table.messages tr", has_text="ghost-task")
    waiting.locator(".s-retrying").wait_for()
    assert "in " in waiting.locator("td").nth(4).inner_text()  # when it becomes visible again: "in 30s"
    assert "next attempt" in card.locator(".counts").inner_text()
    _shot(page, "queues-retrying")
    running.run(running.sandbox.bus.publish("background-task", {"name": "purge me"}))  # fails: a dead letter
    _settle(running)
    letter = card.locator("table.dead-letters tr", has_text="ghost-task")
    letter.wait_for()
    assert "failed" in letter.inner_text()  # the handler reported the message in batchItemFailures
    letter.locator("td a").click()  # its drawer leads to the calls that failed it, whose logs say why
    page.click("#dead-letter-invocations")
    page.wait_for_function("() => document.querySelector('#filter-function')?.value === 'task-progress'")
    page.go_back()
    letter.wait_for()
    doomed = page.locator("[data-topic='background-task'] table.dead-letters tr", has_text="purge me")
    doomed.wait_for()
    _shot(page, "queues")
    doomed_id = doomed.get_attribute("data-id")
    doomed.locator("button.purge").click()
    page.wait_for_selector("#toast:has-text('Purged')")
    doomed.wait_for(state="detached")
    assert doomed_id not in [d.id for d in running.sandbox.bus.dead_letters()]
    _dynamodb(running).put_item(
        TableName=TASKS,
        Item={"taskID": {"S": "ghost-task"}, "name": {"S": "Came back"}, "status": {"S": "received"}},
    )
    letter.locator("button.replay").click()
    page.wait_for_selector("#toast:has-text('Replayed')")
    _settle(running)
    page.locator("[data-queue='task-progress'] table.dead-letters").wait_for(state="detached")
    item = _dynamodb(running).get_item(TableName=TASKS, Key={"taskID": {"S": "ghost-task"}})
    assert item["Item"]["status"]["S"] == "complete"  # delivered, and the steps after it ran too
    running.run(running.sandbox.bus.publish("background-task", {"name": "fails for good"}))
    # The topic's function invoked directly (InvocationType=Event): no SNS record, so it fails too, and its
    # dead letter is shown under the function, marked as a Lambda invoke, not under the topic.
    lam = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{running.ports['events']}", **KEYS)
    lam.invoke(FunctionName="background-task", InvocationType="Event", Payload=json.dumps({"name": "invoked"}))
    _settle(running)
    invoked = page.locator("[data-invoke='background-task']")
    invoked.locator("table.dead-letters tr", has_text="invoked").wait_for()
    assert invoked.locator(".tag").first.inner_text() == "Invoke (Event)"
    invoked.scroll_into_view_if_needed()
    _shot(page, "queues-async-invoke")
    assert page.locator("[data-topic='background-task'] table.dead-letters tr", has_text="invoked").count() == 0
    invoked.locator("table.dead-letters tr td a").click()
    assert "Invoke (Event)" in page.locator("#drawer-body").inner_text()
    page.keyboard.press("Escape")
    letters = len(running.sandbox.bus.dead_letters())
    page.click(f"#replay-all:has-text('Replay all ({letters})')")
    page.wait_for_selector(f"#toast:has-text('Replayed {letters}')")
    _settle(running)  # each fails again: dead letters once more
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#purge-all")
    page.wait_for_selector(f"#toast:has-text('Purged {letters}')")
    page.locator("table.dead-letters").first.wait_for(state="detached")
    assert running.sandbox.bus.dead_letters() == []


def test_dashboard_edits_an_item_that_boto3_then_reads(page: Any, running: ThreadedSandbox) -> None:
    client = _dynamodb(running)
    client.put_item(
        TableName=TASKS,
        Item={"taskID": {"S": "edit-me"}, "name": {"S": "Before"}, "status": {"S": "received"}, "created": {"N": "1"}},
    )
    _open(page, running, "tables")
    page.fill("#q-pk", "edit-me")
    page.click("#q-run")
    page.locator("#item-table tr", has_text="edit-me").click()
    edited = json.loads(page.locator("#item-json").input_value())
    assert edited == {"taskID": "edit-me", "name": "Before", "status": "received", "created": 1}
    edited.update(name="After", tags=["a", "b"], score=0.1)
    page.fill("#item-json", json.dumps(edited, indent=2))
    page.click("#item-save")
    page.wait_for_selector("#toast:has-text('Saved')")
    item = client.get_item(TableName=TASKS, Key={"taskID": {"S": "edit-me"}})["Item"]
    assert item["name"] == {"S": "After"}
    assert item["score"] == {"N": "0.1"}  # exact, not 0.1000000000000000055...
    assert item["tags"] == {"L": [{"S": "a"}, {"S": "b"}]}
    page.click("#q-run")  # a scan again: every item, with the edit
    page.fill("#q-pk", "")
    page.click("#q-run")
    page.locator("#item-table tr", has_text="After").wait_for()
    page.click("#add-item")
    page.fill("#item-json", json.dumps({"taskID": "added", "name": "New one", "status": "received"}))
    page.click("#item-save")
    page.wait_for_selector("#toast:has-text('Saved')")
    added = client.get_item(TableName=TASKS, Key={"taskID": {"S": "added"}})
    assert added["Item"]["name"] == {"S": "New one"}
    page.locator("#item-table tr", has_text="New one").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#item-delete")
    page.wait_for_selector("#toast:has-text('Deleted')")
    assert "Item" not in client.get_item(TableName=TASKS, Key={"taskID": {"S": "added"}})
    page.click("[data-format='dynamo']")
    typed = page.locator("#item-table tr", has_text="After")
    typed.locator(".tag.type", has_text="L").wait_for()  # DynamoDB JSON: each value with its type
    typed.click()
    as_dynamo = json.loads(page.locator("#item-json").input_value())
    assert as_dynamo["name"] == {"S": "After"} and as_dynamo["created"] == {"N": "1"}
    as_dynamo.update(labels={"SS": ["x", "y"]}, expires={"N": "1900000000"})  # a set: plain JSON has none
    page.fill("#item-json", json.dumps(as_dynamo))
    page.click("#item-save")
    page.wait_for_selector("#toast:has-text('Saved')")
    item = client.get_item(TableName=TASKS, Key={"taskID": {"S": "edit-me"}})["Item"]
    assert item["labels"] == {"SS": ["x", "y"]} and item["expires"] == {"N": "1900000000"}
    page.locator("#item-table th", has_text="expires (TTL)").wait_for()
    ttl = page.locator("#item-table tr", has_text="After").locator("td.ttl")
    assert ttl.inner_text().startswith("2030-03-17 ") and "in " in ttl.inner_text()  # when it expires, readable
    page.locator("#item-table tr", has_text="After").click()
    assert "Expires (TTL expires): 2030-" in page.locator("#item-ttl").inner_text()
    page.keyboard.press("Escape")
    _shot(page, "tables")


def test_dashboard_queries_an_index_a_page_at_a_time(page: Any, running: ThreadedSandbox) -> None:
    client = _dynamodb(running)
    for n in range(60):
        client.put_item(TableName=TASKS, Item={"taskID": {"S": f"bulk-{n:02d}"}, "status": {"S": "bulk"}})
    _open(page, running, "tables")
    assert page.locator("#q-sk-op").is_disabled()  # neither the table nor its index has a sort key
    page.select_option("#q-index", "byStatus")
    page.fill("#q-pk", "bulk")
    page.click("#q-run")
    page.locator("#items-count", has_text="Query · 50 item(s)").wait_for()  # one page of the UI's 50
    first = set(page.locator("#item-table tbody tr td:first-child").all_inner_texts())
    page.click("#next-page")
    page.locator("#items-count", has_text="Query · 10 item(s)").wait_for()
    second = set(page.locator("#item-table tbody tr td:first-child").all_inner_texts())
    assert first | second == {f"bulk-{n:02d}" for n in range(60)} and not first & second
    assert page.locator("#next-page").count() == 0  # the last page
    page.click("text=← Previous")
    page.locator("#items-count", has_text="Query · 50 item(s)").wait_for()
    for n in range(60):
        client.delete_item(TableName=TASKS, Key={"taskID": {"S": f"bulk-{n:02d}"}})


def test_dashboard_runs_a_schedule_now(page: Any, running: ThreadedSandbox) -> None:
    _open(page, running, "schedules")
    row = page.locator("tr[data-schedule='nightly-report']")
    assert "rate(1 day)" in row.inner_text()
    assert "not run yet" in row.inner_text()
    with urllib.request.urlopen(running.dashboard_url + "_dashboard/api/schedules", timeout=10) as answer:
        (schedule,) = json.loads(answer.read())["schedules"]
    assert schedule["next_fire_at"] > running.sandbox.clock.now()
    next_fire = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(schedule["next_fire_at"]))  # the page is in UTC
    assert next_fire in row.inner_text()
    row.locator("button.run-now").click()
    page.wait_for_selector("#toast:has-text('nightly-report ran')")
    row.locator("td.last .s-ok").wait_for()
    _shot(page, "schedules")
    last = running.sandbox.recorder.last_of("nightly-report", "scheduled")
    assert last is not None and last.finished is not None and isinstance(last.finished.result, dict)


def test_dashboard_lists_routes_linking_to_the_app(page: Any, running: ThreadedSandbox) -> None:
    _open(page, running, "routes")
    link = page.locator("td a[target='_blank']", has_text="/tasks")
    assert link.get_attribute("href") == f"{running.sandbox.url}/tasks"
    assert link.get_attribute("target") == "_blank"
    ws = page.locator("tr[data-kind='ws']")
    assert [ws.nth(n).locator("td").nth(1).inner_text() for n in range(ws.count())] == [
        "connect", "default", "disconnect"
    ]  # fmt: skip
    assert page.locator("#ws-url").inner_text() == "ws" + running.sandbox.url.removeprefix("http")
    _shot(page, "routes")
    page.locator("tr", has_text="/tasks").locator("td").nth(2).locator("a").click()  # its invocations
    page.wait_for_function("() => document.querySelector('#filter-function')?.value === 'get /tasks'")


def test_dashboard_loads_older_invocations_a_page_at_a_time(page: Any, running: ThreadedSandbox) -> None:
    for n in range(101):  # by hand: each one call, nothing queued after it
        running.run(running.sandbox.bus.invoke_now("queues", "task-progress", {"taskID": f"none-{n}", "status": "x"}))
    recorded = running.sandbox.recorder.recorded
    _open(page, running, "invocations")
    page.locator("#invocation-rows tr").nth(99).wait_for()
    assert page.locator("#invocation-rows tr").count() == 100  # the first page; the rest on demand
    page.click("#older")
    page.wait_for_function(f"() => document.querySelectorAll('#invocation-rows tr').length === {min(recorded, 200)}")
    seqs = page.eval_on_selector_all("#invocation-rows tr", "rows => rows.map(r => Number(r.dataset.seq))")
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)  # newest first, none twice
