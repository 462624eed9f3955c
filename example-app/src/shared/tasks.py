"""Shared by every function: the task statuses and how long each step takes (src/shared -> `import shared`)."""

import random

RECEIVED, PROCESSING, COMPLETE = "received", "processing", "complete"
# The seed's delays: received -> processing after 3-10 s, processing -> complete after another 10-20 s.
DELAYS = {PROCESSING: (3, 10), COMPLETE: (10, 20)}
NEXT = {RECEIVED: PROCESSING, PROCESSING: COMPLETE}


def delay_before(status: str) -> int:
    low, high = DELAYS[status]
    return random.randint(low, high)
