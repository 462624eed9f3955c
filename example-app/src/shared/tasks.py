"""Shared by every function: the task statuses, how long each step takes, and telling open pages
(src/shared -> `import shared`)."""

import random

from sandbox import arc
from sandbox.errors import GoneError

RECEIVED, PROCESSING, COMPLETE = "received", "processing", "complete"
# The seed's delays: received -> processing after 3-10 s, processing -> complete after another 10-20 s.
DELAYS = {PROCESSING: (3, 10), COMPLETE: (10, 20)}
NEXT = {RECEIVED: PROCESSING, PROCESSING: COMPLETE}


def delay_before(status: str) -> int:
    low, high = DELAYS[status]
    return random.randint(low, high)


def tell_pages(task_id: str, status: str) -> None:
    """Send the step to every open page (@ws); a page that went away is forgotten."""
    connections = arc.tables().connections
    for connection in connections.scan_all():
        try:
            arc.ws.send(connection["connectionID"], {"taskID": task_id, "status": status})
        except GoneError:
            connections.delete({"connectionID": connection["connectionID"]})
