"""@ws disconnect: forget the page."""

from sandbox import arc


def handler(event, context):
    arc.tables().connections.delete({"connectionID": event["requestContext"]["connectionId"]})
    return {"statusCode": 200}
