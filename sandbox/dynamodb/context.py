"""What every operation needs, handed over as one object by the TableStore that owns it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.clock import Clock
from sandbox.db import Database
from sandbox.dynamodb.catalog import Catalog
from sandbox.dynamodb.expressions import ExpressionCache


@dataclass(frozen=True)
class Context:
    db: Database
    clock: Clock
    catalog: Catalog = field(default_factory=Catalog)
    expressions: ExpressionCache = field(default_factory=ExpressionCache)
    region: str = "us-west-2"
    account_id: str = "123456789012"

    def table_arn(self, name: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{name}"

    def stream_arn(self, table: str, label: str) -> str:
        return f"{self.table_arn(table)}/stream/{label}"
