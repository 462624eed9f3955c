"""SNS, SQS and EventBridge, behind `sandbox.bus`.

`queues` is the SQS model (visibility, retries, redrive, FIFO groups, delays) and `reading` SQS as a
client reads it; `records` the events Lambda receives from each service; `schedules` rate() and
cron(); `storage` and `commits` keep messages durable; `messages`, `results` and `notes` check,
record and describe deliveries; `listener` is the events port as architect-functions uses it; and
`sns_wire`, `sqs_wire` and `wire_dispatch` are the wire APIs boto3 speaks.
"""
