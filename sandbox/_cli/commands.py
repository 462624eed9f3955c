"""`arc-sandbox tables | messages | replay | purge | logs`: a running sandbox, from the terminal.

They call the dashboard's JSON API on the internal port, found as `start` finds it: --internal-port,
then the app's prefs.arc, then ARC_INTERNAL_PORT, then 2222.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sandbox._cli import show
from sandbox._cli.client import DASHBOARD_API, SandboxClient, sandbox_port

F = TypeVar("F", bound=Callable[..., Any])
MESSAGE_STATES = ("pending", "in_flight", "delayed", "retrying", "dead")
MAX_HELD_LINES = 500  # per invocation, as the dashboard keeps


def sandbox_options(fn: F) -> F:
    """--app and --internal-port: where the running sandbox is."""
    fn = click.option(
        "--internal-port",
        type=click.IntRange(1, 65535),
        help="The sandbox's internal port (default: as `start` picks it).",
    )(fn)
    fn = click.option(
        "--app", "app_dir", type=click.Path(file_okay=False, path_type=Path),
        help="The app folder, whose prefs.arc may set the ports (default: the current folder).",
    )(fn)  # fmt: skip
    return fn


def _client(app_dir: Path | None, internal_port: int | None) -> SandboxClient:
    return SandboxClient(sandbox_port((app_dir or Path(".")).resolve(), "internal", internal_port))


def _table_client(app_dir: Path | None, internal_port: int | None) -> SandboxClient:
    """The subcommand's --app/--internal-port, else those given to `tables` itself."""
    outer: tuple[Path | None, int | None] = click.get_current_context().obj or (None, None)
    return _client(app_dir or outer[0], internal_port or outer[1])


def _json_arg(text: str, what: str) -> Any:
    if text == "-":
        text = sys.stdin.read()
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint=what) from None


def _format(dynamo: bool) -> str:
    """The dashboard API's `format`: what --dynamo selects for items in and out."""
    return "dynamo" if dynamo else "plain"


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


# --- tables ------------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@sandbox_options
@click.pass_context
def tables(ctx: click.Context, app_dir: Path | None, internal_port: int | None) -> None:
    """List a running sandbox's tables, or scan, query, get, put and delete items."""
    ctx.obj = (app_dir, internal_port)
    if ctx.invoked_subcommand is None:
        _list_tables(_client(app_dir, internal_port))


def _list_tables(client: SandboxClient) -> None:
    found = client.get(DASHBOARD_API + "/tables")["tables"]
    if not found:
        click.echo("This app has no @tables.")
    for t in found:
        keys = t["partition_key"] + (f", {t['sort_key']}" if t["sort_key"] else "")
        extra = "".join(f"  index {i['name']}" for i in t["indexes"])
        extra += f"  TTL {t['ttl_attribute']}" if t["ttl_attribute"] else ""
        count = f"{t['item_count']:>8,} item{'' if t['item_count'] == 1 else 's'}"
        click.echo(f"{click.style(t['name'].ljust(20), bold=True)} {count:<15} keys ({keys}){extra}")


@tables.command("list")
@sandbox_options
def tables_list(app_dir: Path | None, internal_port: int | None) -> None:
    """Each table with its item count, keys, indexes and TTL attribute."""
    _list_tables(_table_client(app_dir, internal_port))


def _page_options(fn: F) -> F:
    for option in reversed([
        click.option("--index", help="Read a global secondary index instead of the table."),
        click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="Items per page."),
        click.option("--all", "every", is_flag=True, help="Follow LastEvaluatedKey to the end."),
        click.option("--start", help="Start after this key (the `next` a previous page printed)."),
        click.option("--dynamo", is_flag=True, help="Print DynamoDB JSON instead of plain JSON."),
    ]):  # fmt: skip
        fn = option(fn)
    return fn


def _pages(client: SandboxClient, table: str, params: dict[str, Any], every: bool) -> None:
    while True:
        page = client.get(f"{DASHBOARD_API}/tables/{table}/items", params)
        if not page["items"] and not params.get("start"):
            click.echo("No items.", err=True)
        for item in page["items"]:
            click.echo(json.dumps(item, default=str))
        if not page["next"]:
            return
        if not every:
            click.echo(click.style(f"more: --start '{page['next']}'", dim=True), err=True)
            return
        params = {**params, "start": page["next"]}


@tables.command("scan")
@click.argument("table")
@_page_options
@sandbox_options
def tables_scan(
    app_dir: Path | None,
    internal_port: int | None,
    table: str,
    index: str | None,
    limit: int,
    every: bool,
    start: str | None,
    dynamo: bool,
) -> None:
    """Print TABLE's items, one JSON object a line."""
    client = _table_client(app_dir, internal_port)
    params = {"index": index, "limit": limit, "start": start, "format": _format(dynamo)}
    _pages(client, table, params, every)


@tables.command("query")
@click.argument("table")
@click.argument("partition_key_value")
@click.option(
    "--sort",
    "sort",
    nargs=2,
    metavar="OP VALUE",
    help="Sort key condition: = < <= > >= begins_with, e.g. --sort '>=' 2024",
)
@click.option("--between", nargs=2, metavar="LOW HIGH", help="Sort key between LOW and HIGH (inclusive).")
@click.option("--desc", is_flag=True, help="Newest (highest sort key) first.")
@_page_options
@sandbox_options
def tables_query(
    app_dir: Path | None, internal_port: int | None, table: str, partition_key_value: str, sort: tuple[str, str] | None,
    between: tuple[str, str] | None, desc: bool, index: str | None, limit: int, every: bool, start: str | None,
    dynamo: bool,
) -> None:  # fmt: skip
    """Items of TABLE (or --index) whose partition key is PARTITION_KEY_VALUE."""
    client = _table_client(app_dir, internal_port)
    params: dict[str, Any] = {"index": index, "limit": limit, "start": start, "format": _format(dynamo)}
    params.update(pk=partition_key_value, desc="1" if desc else None)
    if sort:
        params.update(sk_op=sort[0], sk=sort[1])
    if between:
        params.update(sk_op="between", sk=between[0], sk2=between[1])
    _pages(client, table, params, every)


@tables.command("get")
@click.argument("table")
@click.argument("key")
@click.option("--dynamo", is_flag=True, help="KEY and the output are DynamoDB JSON.")
@sandbox_options
def tables_get(app_dir: Path | None, internal_port: int | None, table: str, key: str, dynamo: bool) -> None:
    """Print one item; KEY is JSON, e.g. '{"taskID": "abc"}'."""
    client = _table_client(app_dir, internal_port)
    body = {"key": _json_arg(key, "KEY"), "format": _format(dynamo)}
    _echo_json(client.send("POST", f"{DASHBOARD_API}/tables/{table}/get", body)["item"])


@tables.command("put")
@click.argument("table")
@click.argument("item")
@click.option("--dynamo", is_flag=True, help="ITEM is DynamoDB JSON.")
@sandbox_options
def tables_put(app_dir: Path | None, internal_port: int | None, table: str, item: str, dynamo: bool) -> None:
    """Write one item (JSON, or - to read it from stdin), replacing any with the same key."""
    client = _table_client(app_dir, internal_port)
    body = {"item": _json_arg(item, "ITEM"), "format": _format(dynamo)}
    _echo_json(client.send("PUT", f"{DASHBOARD_API}/tables/{table}/item", body)["item"])


@tables.command("delete")
@click.argument("table")
@click.argument("key")
@click.option("--dynamo", is_flag=True, help="KEY is DynamoDB JSON.")
@sandbox_options
def tables_delete(app_dir: Path | None, internal_port: int | None, table: str, key: str, dynamo: bool) -> None:
    """Delete one item by KEY (JSON)."""
    client = _table_client(app_dir, internal_port)
    body = {"key": _json_arg(key, "KEY"), "format": _format(dynamo)}
    deleted = client.send("DELETE", f"{DASHBOARD_API}/tables/{table}/item", body)["deleted"]
    click.echo("Deleted." if deleted else "No item with that key.")


# --- messages, replay, purge -----------------------------------------------------------------------


@click.command()
@sandbox_options
@click.option("--name", help="Only this queue, topic or function (its Lambda async invokes).")
@click.option("--state", type=click.Choice(MESSAGE_STATES), help="Only messages in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole listing as JSON.")
def messages(
    app_dir: Path | None, internal_port: int | None, name: str | None, state: str | None, as_json: bool
) -> None:
    """A running sandbox's queued messages, event and Lambda async invoke retries and dead letters, with their bodies."""
    listing = _client(app_dir, internal_port).get(DASHBOARD_API + "/queues")
    if as_json:
        _echo_json(listing)
        return
    now = listing["now"]
    lines = []
    groups = [("@events", g) for g in listing["topics"]] + [("@queues", g) for g in listing["queues"]]
    groups += [("Invoke (Event)", g) for g in listing.get("invokes", [])]  # Lambda async invokes, by function
    for pragma, group in groups:
        if name and group["name"] != name:
            continue
        rows = [("retrying", r["message_id"], f"attempt {r['attempt']}", r["next_attempt_at"], r.get("payload"), None)
                for r in group.get("retries", [])]  # fmt: skip
        rows += [(m["state"], m["id"], f"receives {m['receive_count']}", m["visible_at"], m["body"], None)
                 for m in group.get("messages", [])]  # fmt: skip
        rows += [("dead", d["id"], f"attempts {d['attempts']}", d["failed_at"], d["payload"], d["error"])
                 for d in group["dead_letters"]]  # fmt: skip
        for kind, ident, count, at, body, error in rows:
            if state and kind != state:
                continue
            timing = "failed " if kind == "dead" else "next attempt " if kind == "retrying" else "visible "
            lines.append(
                f"{pragma} {group['name']}  {show.status(kind, 9)} {ident}  {count}  {timing}{show.when(at, now)}"
            )
            if body is not None:
                lines.append(f"    {show.compact(body)}")
            if kind == "dead":
                lines.append("    " + click.style(f"error: {error}", fg="red"))
    click.echo("\n".join(lines) if lines else "No messages.")


def _letter_body(ids: tuple[str, ...], name: str | None, pragma: str | None, every: bool) -> dict[str, Any]:
    if sum(bool(x) for x in (ids, name, every)) != 1:
        raise click.UsageError("give dead letter IDs, or --name QUEUE_TOPIC_OR_FUNCTION, or --all")
    if pragma and not name:
        raise click.UsageError("--pragma goes with --name")
    if ids:
        return {"ids": list(ids)}
    if name:
        return {"name": name, "pragma": pragma} if pragma else {"name": name}
    return {"all": True}


def _letter_options(fn: F) -> F:
    """Which dead letters: IDS, or --name (with --pragma where the name is ambiguous), or --all."""
    fn = click.option("--all", "every", is_flag=True, help="Every dead letter.")(fn)
    fn = click.option(
        "--pragma",
        type=click.Choice(["events", "queues", "lambda"]),
        help="With --name: the topic's (events), the queue's (queues) or the function's async invokes' (lambda) "
        "dead letters, where a name is more than one of these.",
    )(fn)
    fn = click.option("--name", help="Every dead letter of this queue, topic or function.")(fn)
    return click.argument("ids", nargs=-1)(fn)


@click.command()
@sandbox_options
@_letter_options
def replay(
    app_dir: Path | None,
    internal_port: int | None,
    ids: tuple[str, ...],
    name: str | None,
    pragma: str | None,
    every: bool,
) -> None:
    """Send dead letters again: each is published, queued or invoked (Lambda async invokes) anew, then forgotten."""
    result = _client(app_dir, internal_port).send(
        "POST", DASHBOARD_API + "/dead-letters/replay", _letter_body(ids, name, pragma, every)
    )
    click.echo(f"Replayed {result['replayed']} dead letter(s).")


@click.command()
@sandbox_options
@_letter_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(
    app_dir: Path | None,
    internal_port: int | None,
    ids: tuple[str, ...],
    name: str | None,
    pragma: str | None,
    every: bool,
    yes: bool,
) -> None:
    """Forget dead letters for good."""
    body = _letter_body(ids, name, pragma, every)
    if not yes:
        click.confirm("Delete these dead letters for good?", abort=True)
    result = _client(app_dir, internal_port).send("POST", DASHBOARD_API + "/dead-letters/purge", body)
    click.echo(f"Purged {result['purged']} dead letter(s).")


# --- logs --------------------------------------------------------------------------------------------


@click.command()
@sandbox_options
@click.option("--function", "function", help="Only this function (e.g. 'get /tasks', 'task-progress').")
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(0, 500),
    default=20,
    show_default=True,
    help="Recent invocations to show first.",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing invocations as they finish.")
@click.option("--max", "max_count", type=click.IntRange(1), help="With --follow: stop after this many.")
def logs(
    app_dir: Path | None,
    internal_port: int | None,
    function: str | None,
    lines: int,
    follow: bool,
    max_count: int | None,
) -> None:
    """Invocations of a running sandbox's functions, with their errors and log lines."""
    client = _client(app_dir, internal_port)
    if function:
        known = client.get(DASHBOARD_API + "/overview")["functions"]
        if function not in known:
            raise click.BadParameter(
                f"no function named {function!r}; this app's: {', '.join(known)}", param_hint="--function"
            )
    if lines:
        recent = client.get(DASHBOARD_API + "/invocations", {"function": function, "limit": lines})["invocations"]
        for inv in reversed(recent):
            click.echo(show.invocation_line(inv))
        if not recent and not follow:
            click.echo(f"No invocations{' of ' + function if function else ''} yet.", err=True)
    if follow:
        _follow(client, function, max_count)


def _follow(client: SandboxClient, function: str | None, max_count: int | None) -> None:
    """Each invocation as it finishes, its log lines under it, until the sandbox stops or `max_count`."""
    seen = 0
    # Log lines by call, printed under it once it ends; by seq: an async invocation's attempts share a request id.
    held: dict[int, list[str]] = {}
    for kind, data in client.stream(DASHBOARD_API + "/stream"):
        if kind == "hello":
            click.echo(
                click.style(f"Following invocations{' of ' + function if function else ''} (Ctrl-C stops)", dim=True),
                err=True,
            )
        elif kind == "log" and (not function or data["function"] == function):
            lines_of = held.setdefault(data["seq"], [])
            if len(lines_of) < MAX_HELD_LINES:
                lines_of.append(data["line"])
        elif kind == "finished" and (not function or data["function"] == function):
            click.echo(show.invocation_line(data))
            for line in held.pop(data["seq"], []):
                click.echo(f"    {click.style('│', dim=True)} {line}")
            seen += 1
            if max_count is not None and seen >= max_count:
                return
