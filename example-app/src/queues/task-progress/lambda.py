"""@queues task-progress: move a task to its next status, and schedule the step after that, if any."""

from shared.tasks import NEXT, delay_before, tell_pages

from sandbox import arc


def advance(step):
    arc.tables().tasks.update(
        Key={"taskID": step["taskID"]},
        UpdateExpression="SET #s = :s",
        ConditionExpression="attribute_exists(taskID)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": step["status"]},
    )
    tell_pages(step["taskID"], step["status"])
    next_status = NEXT.get(step["status"])
    if next_status:
        arc.queues.publish(
            "task-progress", {"taskID": step["taskID"], "status": next_status}, delay_seconds=delay_before(next_status)
        )


handler = arc.queues.subscribe(advance)
