# Background Tasks: a POST publishes an event and returns at once; a subscriber records the task and
# moves it through received -> processing -> complete.
@app
background-tasks

@http
get /
get /tasks
post /background

@events
background-task

@queues
task-progress
  # per-message delays need a standard queue: SQS FIFO queues only take a queue-wide delay
  fifo false

@tables
tasks
  taskID *String
