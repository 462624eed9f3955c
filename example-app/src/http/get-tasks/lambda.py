"""GET /tasks: the tasks as JSON, newest first (what the page polls)."""

from sandbox import arc


def handler(event, context):
    tasks = sorted(arc.tables().tasks.scan_all(), key=lambda t: t["created"], reverse=True)
    return arc.http.response(json=tasks)
