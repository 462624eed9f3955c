"""Table definitions: what CreateTable and the manifest describe, kept as frozen dataclasses.

A definition round-trips through JSON so the catalog can keep it in SQLite beside the items.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.errors import SerializationError, ValidationError
from sandbox.model import IndexSpec, TableSpec

PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
STREAM_VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
MAX_LOCAL_INDEXES = 5
MAX_KEY_ATTRIBUTES = 4  # per kind (HASH, RANGE) in a multi-attribute GSI key
KEY_TYPES = ("S", "N", "B")
TABLE_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
DEFAULT_THROUGHPUT = (5, 5)


@dataclass(frozen=True)
class IndexDef:
    """A secondary index; `id` keys its rows in the dynamo_gsi table.

    A local index (LSI) is stored exactly like a global one whose partition key is the table's: its
    rows live in the same index table, written in the same transaction as the item.
    """

    name: str
    partition_key: str
    sort_key: str | None
    projection: str = "ALL"
    non_key_attributes: tuple[str, ...] = ()
    id: int = 0
    local: bool = False
    # A multi-attribute GSI key: the attributes after the first of its partition key and of its sort key.
    more_partition: tuple[str, ...] = ()
    more_sort: tuple[str, ...] = ()

    @property
    def partition_keys(self) -> tuple[str, ...]:
        return (self.partition_key, *self.more_partition)

    @property
    def sort_keys(self) -> tuple[str, ...]:
        return () if self.sort_key is None else (self.sort_key, *self.more_sort)

    @property
    def composite(self) -> bool:
        return bool(self.more_partition or self.more_sort)

    def key_names(self) -> tuple[str, ...]:
        return (*self.partition_keys, *self.sort_keys)

    def same_shape(self, other: IndexDef) -> bool:
        return replace(self, id=0) == replace(other, id=0)


@dataclass(frozen=True)
class StreamDef:
    """A table's DynamoDB stream: `id` keys its records; `label` (a timestamp) names it in its ARN."""

    id: int
    label: str
    view_type: str
    enabled: bool = True


@dataclass(frozen=True)
class TableDef:
    name: str
    partition_key: str
    sort_key: str | None
    attribute_types: dict[str, str]
    indexes: tuple[IndexDef, ...] = ()
    ttl_attribute: str | None = None
    created: float = 0.0
    billing_mode: str = "PROVISIONED"
    throughput: tuple[int, int] = DEFAULT_THROUGHPUT
    table_id: str = ""  # DynamoDB's TableId (a uuid)
    id: int = 0  # the catalog's row id; keys the items
    extra: dict[str, Any] = field(default_factory=dict)  # accepted but not emulated: Tags, SSE...
    stream: StreamDef | None = None  # the latest stream, enabled or not (DescribeTable still names it)

    @property
    def streaming(self) -> bool:
        """Whether writes are recorded on a stream: it has one and it is enabled."""
        return self.stream is not None and self.stream.enabled

    def key_names(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    def index(self, name: str) -> IndexDef:
        for index in self.indexes:
            if index.name == name:
                return index
        raise ValidationError(f"The table does not have the specified index: {name}")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partition_key": self.partition_key,
            "sort_key": self.sort_key,
            "attribute_types": self.attribute_types,
            "indexes": [
                {
                    "name": i.name,
                    "partition_key": i.partition_key,
                    "sort_key": i.sort_key,
                    "projection": i.projection,
                    "non_key_attributes": list(i.non_key_attributes),
                    "id": i.id,
                    "local": i.local,
                    "more_partition": list(i.more_partition),
                    "more_sort": list(i.more_sort),
                }
                for i in self.indexes
            ],
            "ttl_attribute": self.ttl_attribute,
            "created": self.created,
            "billing_mode": self.billing_mode,
            "throughput": list(self.throughput),
            "table_id": self.table_id,
            "extra": self.extra,
            "stream": None if self.stream is None else vars(self.stream),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, row_id: int) -> TableDef:
        indexes = tuple(
            IndexDef(
                name=i["name"],
                partition_key=i["partition_key"],
                sort_key=i["sort_key"],
                projection=i["projection"],
                non_key_attributes=tuple(i["non_key_attributes"]),
                id=i["id"],
                local=i.get("local", False),
                more_partition=tuple(i.get("more_partition", ())),
                more_sort=tuple(i.get("more_sort", ())),
            )
            for i in data["indexes"]
        )
        stream = data.get("stream")
        read, write = data["throughput"]
        return cls(
            name=data["name"],
            partition_key=data["partition_key"],
            sort_key=data["sort_key"],
            attribute_types=dict(data["attribute_types"]),
            indexes=indexes,
            ttl_attribute=data["ttl_attribute"],
            created=data["created"],
            billing_mode=data["billing_mode"],
            throughput=(read, write),
            table_id=data["table_id"],
            id=row_id,
            extra=dict(data.get("extra", {})),
            stream=StreamDef(**stream) if stream else None,
        )


# --- from the manifest -------------------------------------------------------------------------


def index_from_spec(spec: IndexSpec) -> IndexDef:
    return IndexDef(
        name=spec.name,
        partition_key=spec.partition_key.name,
        sort_key=spec.sort_key.name if spec.sort_key else None,
        projection=spec.projection,
        non_key_attributes=spec.non_key_attributes,
    )


def table_from_spec(spec: TableSpec, physical: str) -> TableDef:
    types: dict[str, str] = {spec.partition_key.name: spec.partition_key.type}
    if spec.sort_key:
        types[spec.sort_key.name] = spec.sort_key.type
    for index in spec.indexes:
        types[index.partition_key.name] = index.partition_key.type
        if index.sort_key:
            types[index.sort_key.name] = index.sort_key.type
    return TableDef(
        name=physical,
        partition_key=spec.partition_key.name,
        sort_key=spec.sort_key.name if spec.sort_key else None,
        attribute_types=types,
        indexes=tuple(index_from_spec(i) for i in spec.indexes),
        ttl_attribute=spec.ttl_attribute,
    )


# --- from a CreateTable request ------------------------------------------------------------------


MAX_KEY_NAME = 255


def _invalid(problem: str) -> ValidationError:
    return ValidationError(f"One or more parameter values were invalid: {problem}")


def check_table_name(name: object, param: str = "tableName") -> str:
    if not isinstance(name, str) or not TABLE_NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{param}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
            if isinstance(name, str) and 3 <= len(name) <= 255
            else f"1 validation error detected: Value '{name}' at '{param}' failed to satisfy constraint: "
            "Member must have length greater than or equal to 3"
        )
    return name


def key_attribute_name(name: object, param: str) -> str:
    """Key attributes (and attributes an index projects by name) have names of 1 to 255 bytes."""
    if not isinstance(name, str) or not 1 <= len(name.encode("utf-8", "surrogatepass")) <= MAX_KEY_NAME:
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{param}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_KEY_NAME} and at least 1"
        )
    return name


def parse_key_schema(schema: object, where: str) -> tuple[str, str | None]:
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2:
        raise _invalid(f"{where}KeySchema must have one HASH key and at most one RANGE key")
    kinds: dict[str, str] = {}
    for element in schema:
        if not isinstance(element, dict) or element.get("KeyType") not in ("HASH", "RANGE"):
            raise _invalid(f"Invalid KeySchema element in {where}KeySchema")
        if element["KeyType"] in kinds:
            raise _invalid(f"Too many {element['KeyType']} keys in {where}KeySchema")
        kinds[element["KeyType"]] = key_attribute_name(element.get("AttributeName"), "keySchema.member.attributeName")
    if kinds.get("HASH") == kinds.get("RANGE"):
        raise _invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    if "HASH" not in kinds:
        raise _invalid(f"No Hash Key specified in {where}KeySchema: the first KeySchemaElement must be a HASH key")
    if schema[0].get("KeyType") != "HASH":
        raise _invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    return kinds["HASH"], kinds.get("RANGE")


def parse_attribute_definitions(defs: object) -> dict[str, str]:
    if not isinstance(defs, list):
        raise ValidationError("AttributeDefinitions must be a list")
    types: dict[str, str] = {}
    for d in defs:
        if not isinstance(d, dict) or d.get("AttributeType") not in KEY_TYPES:
            raise ValidationError(
                f"1 validation error detected: Value '{d.get('AttributeType') if isinstance(d, dict) else d}' at "
                "'attributeDefinitions.member.attributeType' failed to satisfy constraint: "
                "Member must satisfy enum value set: [B, N, S]"
            )
        name = key_attribute_name(d.get("AttributeName"), "attributeDefinitions.member.attributeName")
        if name in types:
            raise _invalid(f"Duplicate AttributeName in AttributeDefinitions: {name}")
        types[name] = d["AttributeType"]
    return types


def parse_index_key_schema(schema: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A GSI's key: up to 4 HASH then up to 4 RANGE attributes (DynamoDB's multi-attribute keys)."""
    hashes_given = (
        sum(isinstance(e, dict) and e.get("KeyType") == "HASH" for e in schema) if isinstance(schema, list) else 0
    )
    if not isinstance(schema, list) or (len(schema) <= 2 and hashes_given <= 1):
        pk, sk = parse_key_schema(schema, "Index ")
        return (pk,), (() if sk is None else (sk,))
    kinds = []
    for element in schema:
        if not isinstance(element, dict) or element.get("KeyType") not in ("HASH", "RANGE"):
            raise _invalid("Invalid KeySchema element in Index KeySchema")
        kinds.append((str(element["KeyType"]), str(element.get("AttributeName"))))
    hashes = tuple(n for k, n in kinds if k == "HASH")
    ranges = tuple(n for k, n in kinds if k == "RANGE")
    if [k for k, _ in kinds] != ["HASH"] * len(hashes) + ["RANGE"] * len(ranges):
        raise _invalid("Invalid Index KeySchema: all HASH key elements must precede all RANGE key elements")
    if not hashes:
        raise _invalid("No Hash Key specified in Index KeySchema")
    for kind, names in (("HASH", hashes), ("RANGE", ranges)):
        if len(names) > MAX_KEY_ATTRIBUTES:
            raise _invalid(f"An index KeySchema can have at most {MAX_KEY_ATTRIBUTES} {kind} key elements")
    if len({*hashes, *ranges}) != len(kinds):
        raise _invalid("Some attributes in the Index KeySchema have the same name")
    return hashes, ranges


def parse_index(data: object) -> IndexDef:
    if not isinstance(data, dict):
        raise ValidationError("Invalid GlobalSecondaryIndexes element")
    name = check_table_name(data.get("IndexName"), "globalSecondaryIndexes.member.indexName")
    hashes, ranges = parse_index_key_schema(data.get("KeySchema"))
    pk, sk = hashes[0], (ranges[0] if ranges else None)
    kind, non_key = parse_projection(data.get("Projection"))
    return IndexDef(
        name=name,
        partition_key=pk,
        sort_key=sk,
        projection=kind,
        non_key_attributes=non_key,
        more_partition=hashes[1:],
        more_sort=ranges[1:],
    )


def parse_local_index(data: object, position: int, table_pk: str, table_sk: str | None) -> IndexDef:
    """An LSI: the table's partition key, its own sort key, one of the projections."""
    schema = data.get("KeySchema") if isinstance(data, dict) else None
    if isinstance(schema, list) and len(schema) > 2:
        raise ValidationError(
            f"1 validation error detected: Value at 'localSecondaryIndexes.{position}.member.keySchema' failed to "
            "satisfy constraint: Member must have length less than or equal to 2"
        )
    index = parse_index(data)
    if table_sk is None:
        raise _invalid(
            "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
        )
    if index.partition_key != table_pk:
        raise _invalid(
            "Index KeySchema does not have the same leading hash key as table KeySchema for index: "
            f"{index.name}. index hash key: {index.partition_key}, table hash key: {table_pk}"
        )
    if index.sort_key is None:
        raise _invalid(f"Index KeySchema does not have a range key for index: {index.name}")
    return replace(index, local=True)


def stream_spec(spec: object) -> str | None:
    """The StreamViewType a StreamSpecification asks for, or None when it disables (or omits) the stream."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("StreamEnabled"), bool):
        raise ValidationError(
            "1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to satisfy "
            "constraint: Member must not be null"
        )
    view = spec.get("StreamViewType")
    if not spec["StreamEnabled"]:
        return None
    if view is None:
        raise ValidationError(
            "One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true"
        )
    if view not in STREAM_VIEWS:
        raise ValidationError(
            f"1 validation error detected: Value '{view}' at 'streamSpecification.streamViewType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(STREAM_VIEWS)}]"
        )
    return str(view)


def parse_projection(projection: object) -> tuple[str, tuple[str, ...]]:
    """An index's `Projection`: its type, and the attributes INCLUDE names (only INCLUDE names any)."""
    if not isinstance(projection, dict) or projection.get("ProjectionType") is None:
        raise _invalid("Unknown ProjectionType: null; the Projection of an index needs a ProjectionType")
    kind = projection["ProjectionType"]
    if kind not in PROJECTIONS:
        raise ValidationError(
            f"1 validation error detected: Value '{kind}' at 'projection.projectionType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(PROJECTIONS)}]"
        )
    given = projection.get("NonKeyAttributes")
    if kind != "INCLUDE":
        if given is not None:
            raise _invalid(f"ListOfNonKeyAttributes must be null when ProjectionType is {kind} (NonKeyAttributes)")
        return kind, ()
    if not isinstance(given, list) or not given:
        raise _invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified or empty")
    for attribute in given:
        if not isinstance(attribute, str):
            raise SerializationError("NonKeyAttributes holds attribute names, which are strings")
        key_attribute_name(attribute, "projection.nonKeyAttributes.member")
    if len(set(given)) != len(given):
        raise _invalid(f"Duplicate attribute in NonKeyAttributes: {sorted(given)}")
    return kind, tuple(given)


def check_definitions_cover(types: dict[str, str], keys: set[str]) -> None:
    for key in keys:
        if key not in types:
            raise _invalid(
                "Some index key attributes are not defined in AttributeDefinitions. Keys: "
                f"[{', '.join(sorted(keys))}], AttributeDefinitions: [{', '.join(types)}]"
            )
    if set(types) - keys:
        raise _invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )


def _throughput(request: Mapping[str, Any], billing: str) -> tuple[int, int]:
    given = request.get("ProvisionedThroughput")
    if billing == "PAY_PER_REQUEST":
        if given:
            raise _invalid(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return (0, 0)
    if not isinstance(given, dict):
        raise _invalid(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    return int(given.get("ReadCapacityUnits", 0)), int(given.get("WriteCapacityUnits", 0))


def table_from_request(request: Mapping[str, Any]) -> TableDef:
    name = check_table_name(request.get("TableName"))
    pk, sk = parse_key_schema(request.get("KeySchema"), "")
    types = parse_attribute_definitions(request.get("AttributeDefinitions"))
    indexes = tuple(parse_index(i) for i in request.get("GlobalSecondaryIndexes") or ())
    local = request.get("LocalSecondaryIndexes") or []
    if not isinstance(local, list):
        raise ValidationError("LocalSecondaryIndexes must be a list")
    if len(local) > MAX_LOCAL_INDEXES:
        raise _invalid(f"Table has more than {MAX_LOCAL_INDEXES} local secondary indexes")
    indexes += tuple(parse_local_index(i, n, pk, sk) for n, i in enumerate(local, 1))
    index_names = [i.name for i in indexes]
    for index_name in index_names:
        if index_names.count(index_name) > 1:
            raise _invalid(f"Duplicate index name: {index_name}")
    keys = {pk, *([sk] if sk else [])}
    for index in indexes:
        keys.update(index.key_names())
    check_definitions_cover(types, keys)
    billing = request.get("BillingMode") or "PROVISIONED"
    if billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        raise ValidationError(f"Invalid BillingMode: {billing}")
    stream_spec(request.get("StreamSpecification"))  # checked here; the stream itself is made with the table
    extra: dict[str, Any] = {k: request[k] for k in ("Tags", "SSESpecification") if k in request}
    return TableDef(
        name=name,
        partition_key=pk,
        sort_key=sk,
        attribute_types=types,
        indexes=indexes,
        billing_mode=billing,
        throughput=_throughput(request, billing),
        extra=extra,
    )
