"""Lambda: execution environments, and the calls into them.

`invoker.Invoker` is the door. `pool`, `process`, `launchers`, `early`, `template` and `lifetime` make
and keep the worker processes; `worker` and `context` run inside them; `frames` and `services` are the
channels between; `environment` is each function's variables; `invocations` tells observers about
each call; `handler_check` finds missing handlers; `wire` is Lambda's Invoke API for boto3.
"""
