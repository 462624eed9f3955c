"""@events background-task: record the task as `received`, then schedule its next step on a delayed queue."""

import time

from shared.tasks import NEXT, RECEIVED, delay_before, tell_pages

from sandbox import arc


def record(task):
    # Milliseconds since the epoch, like JavaScript's Date.now(): the page's script reads it as a Number.
    created = int(time.time() * 1000)
    arc.tables().tasks.put({"taskID": task["taskID"], "name": task["name"], "status": RECEIVED, "created": created})
    tell_pages(task["taskID"], RECEIVED)
    next_status = NEXT[RECEIVED]
    arc.queues.publish(
        "task-progress", {"taskID": task["taskID"], "status": next_status}, delay_seconds=delay_before(next_status)
    )


handler = arc.events.subscribe(record)
