# SQS FIFO queues take no per-message delay; this queue delays each progress step.
@aws
fifo false
