"""DynamoDB on SQLite: core types, keys and expressions, and the store built on them (see sandbox/store.py)."""
