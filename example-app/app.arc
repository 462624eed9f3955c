# Background Tasks: a POST publishes an event and returns at once; a subscriber records the task and
# moves it through received -> processing -> complete, and open pages hear of each step over @ws.
@app
background-tasks

# Architect deploys Node unless told otherwise; the sandbox runs Python either way.
@aws
runtime python3.12

@http
get /
get /tasks
post /background

@events
background-task

# A standard queue (src/queues/task-progress/config.arc: `@aws fifo false`), for per-message delays.
@queues
task-progress

# connections: the pages that are open, told of each step over @ws (src/ws/connect and disconnect keep it)
@tables
tasks
  taskID *String
connections
  connectionID *String

@ws
