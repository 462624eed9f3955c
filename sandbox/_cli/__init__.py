"""The CLI's commands that talk to a running sandbox: tables, messages, replay, purge, logs."""
