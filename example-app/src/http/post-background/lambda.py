"""POST /background: publish the task as an event and return at once (302 back to the page)."""

import uuid

from sandbox import arc


def handler(event, context):
    form = arc.http.parse_body(event)
    name = str(form.get("background", "")).strip() if isinstance(form, dict) else ""
    if not name:
        return arc.http.response(text="the form field `background` is required", status=400)
    arc.events.publish("background-task", {"taskID": str(uuid.uuid4()), "name": name})
    return arc.http.redirect("/")
