"""The web dashboard on the internal port's root: invocations, queues, tables, schedules, routes, live."""
