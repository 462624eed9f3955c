"""Architect's names, shared by the sandbox's discovery and the runtime client (no server imports here)."""

from __future__ import annotations

import re


def to_logical_id(text: str) -> str:
    """Architect's toLogicalID: PascalCase the dash/underscore words; "Get" becomes "GetIndex"."""
    text = re.sub(r"([A-Z])", r" \1", text)
    if len(text) == 1:
        return text.upper()
    text = re.sub(r"^[\W_]+|[\W_]+$", "", text).lower()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    text = re.sub(r"[\W_]+(\w|$)", lambda m: m.group(1).upper(), text)
    return "GetIndex" if text == "Get" else text


def stack_name(app: str, arc_env: str) -> str:
    """The CloudFormation stack, and so the SSM path root, Architect deploys `app` to in `arc_env`."""
    return to_logical_id(f"{app}-{arc_env}")
