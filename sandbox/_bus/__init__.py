"""Parts of the bus: record shapes, schedules, queue state and storage, the HTTP listener."""
