"""An item's stored JSON text: items in storage, images in stream records.

Kept apart from `types` because it needs orjson, which `sandbox.arc` (importing `types`) does not install.
"""

from __future__ import annotations

import json

import orjson

from sandbox.dynamodb.types import Item


def dumps(item: Item) -> str:
    try:
        return orjson.dumps(item).decode()  # several times faster than json, the same compact text
    except orjson.JSONEncodeError:  # a lone surrogate from an in-process caller: let json write it escaped
        return json.dumps(item, separators=(",", ":"))


def loads(text: str) -> Item:
    item: Item = orjson.loads(text)
    return item
