"""@ws connect: remember the page, so each task's next step reaches it."""

from sandbox import arc


def handler(event, context):
    arc.tables().connections.put({"connectionID": event["requestContext"]["connectionId"]})
    return {"statusCode": 200}
