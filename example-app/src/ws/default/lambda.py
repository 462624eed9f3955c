"""@ws default: pages only listen; anything they send is acknowledged and dropped."""


def handler(event, context):
    return {"statusCode": 200}
