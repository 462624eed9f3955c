"""DynamoDB's PartiQL operations (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction).

A statement is tokenized and parsed by hand into a small tree, then translated into the ordinary
operations (Query, Scan, PutItem, UpdateItem, DeleteItem, TransactGetItems, TransactWriteItems) with
generated placeholders, so everything those already do (validation, indexes, conditions, capacity,
Streams, TTL) applies to PartiQL unchanged.
"""

from sandbox.dynamodb.partiql.service import PartiQL

__all__ = ["PartiQL"]
