"""Project-wide pragmas: @app, @aws, @static, @shared and @views."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import get_args

from sandbox._manifest import values as v
from sandbox._manifest.nodes import ArcDoc
from sandbox.model import DEFAULT_REGION, ApiType, AwsSettings, StaticSpec

APP_NAME = re.compile(r"[a-z][a-zA-Z0-9_-]+")
API_TYPES = {"http": "http", "httpv2": "http", "httpv1": "httpv1", "rest": "rest"}
RUNTIME_ALIASES = {
    "python": "python3.12",
    "py": "python3.12",
    "node": "nodejs20.x",
    "nodejs": "nodejs20.x",
    "node.js": "nodejs20.x",
    "ruby": "ruby3.3",
    "rb": "ruby3.3",
}
MAX_MEMORY = 10240
AWS_KEYS = [
    "region",
    "profile",
    "runtime",
    "memory",
    "timeout",
    "concurrency",
    "layers",
    "policies",
    "architecture",
    "storage",
    "apigateway",
    "bucket",
]
STATIC_OFF = ("disable", "disabled")
STATIC_KEYS = ["fingerprint", "folder", "ignore", "prefix", "prune", "spa", "compression", "staging", "production"]


def app_name(doc: ArcDoc) -> str:
    section = doc.get("app")
    if section is None:
        raise doc.error(None, "@app is missing: add `@app` followed by a line with the app's name")
    if len(section.items) != 1 or section.items[0].kind != "scalar":
        raise doc.error(section.line, "@app takes exactly one name on the line after it")
    item = section.items[0]
    name = item.texts[0]
    if not isinstance(item.values[0], str) or not APP_NAME.fullmatch(name) or len(name) > 100:
        raise doc.error(
            item.line,
            f"invalid app name {name!r}: lower-case letter first, then letters, digits, - or _ (2 to 100 characters)",
        )
    return name


def runtime(doc: ArcDoc, where: v.Located) -> str:
    given = v.text(doc, where, "runtime")
    return RUNTIME_ALIASES.get(given.lower(), given)


def memory(doc: ArcDoc, where: v.Located) -> int:
    return v.integer(doc, where, "memory", 128, MAX_MEMORY)


def aws_settings(doc: ArcDoc, environ: Mapping[str, str]) -> AwsSettings:
    found = v.settings(doc, doc.get("aws"))
    aws = AwsSettings(region=environ.get("AWS_REGION") or DEFAULT_REGION)
    for key, setting in found.items():
        if key not in AWS_KEYS:
            raise v.unknown(doc, setting, "@aws", tuple(AWS_KEYS))
    if "region" in found:
        aws = replace(aws, region=v.text(doc, found["region"], "@aws region"))
    if "profile" in found:
        aws = replace(aws, profile=v.text(doc, found["profile"], "@aws profile"))
    if "apigateway" in found:
        aws = replace(aws, apigateway=_api_type(doc, found["apigateway"]))
    if "timeout" in found:
        aws = replace(aws, timeout=v.positive_number(doc, found["timeout"], "@aws timeout"))
    if "memory" in found:
        aws = replace(aws, memory=memory(doc, found["memory"]))
    if "runtime" in found:
        aws = replace(aws, runtime=runtime(doc, found["runtime"]))
    return aws


def _api_type(doc: ArcDoc, setting: v.Setting) -> ApiType:
    given = str(v.one(doc, setting, "@aws apigateway")).lower()
    if given not in API_TYPES:
        raise doc.error(setting.line, f"bad @aws apigateway {given!r} (use one of: {', '.join(API_TYPES)})")
    api = API_TYPES[given]
    assert api in get_args(ApiType)
    return api  # type: ignore[return-value]


def static_spec(doc: ArcDoc) -> StaticSpec | None:
    section = doc.get("static")
    if section is None:
        return StaticSpec() if "http" in doc.sections else None
    first = section.items[0].values[0] if section.items and section.items[0].kind == "scalar" else None
    if first is False or first in STATIC_OFF:
        return None
    spec = StaticSpec()
    for key, setting in v.settings(doc, section).items():
        spec = _static_setting(doc, spec, key, setting)
    return spec


def _static_setting(doc: ArcDoc, spec: StaticSpec, key: str, setting: v.Setting) -> StaticSpec:
    if key == "folder":
        return replace(spec, folder=v.text(doc, setting, "@static folder"))
    if key == "prefix":
        return replace(spec, prefix=v.text(doc, setting, "@static prefix"))
    if key == "spa":
        return replace(spec, spa=v.boolean(doc, setting, "@static spa"))
    if key == "fingerprint":  # `external` means fingerprinted by the user's own build
        value = v.one(doc, setting, "@static fingerprint")
        return replace(spec, fingerprint="external" if value == "external" else value is True)
    if key == "ignore":
        return replace(spec, ignore=setting.texts)
    if key not in STATIC_KEYS:
        raise v.unknown(doc, setting, "@static", tuple(STATIC_KEYS))
    return spec


def code_dir(doc: ArcDoc, root: Path, pragma: str) -> Path | None:
    """src/shared or src/views if it exists, or the folder named by `@shared src` / `@views src`."""
    found = v.settings(doc, doc.get(pragma))
    if "src" in found:
        folder = root / v.text(doc, found["src"], f"@{pragma} src")
        if not folder.is_dir():
            raise doc.error(found["src"].line, f"@{pragma} src folder {folder} does not exist")
        return folder.resolve()
    default = root / "src" / pragma
    return default.resolve() if default.is_dir() else None


def views_routes(doc: ArcDoc) -> set[tuple[str, str]] | None:
    """Routes listed under @views (only they get views), or None when every get/any route does."""
    section = doc.get("views")
    listed = {
        (str(i.values[0]).lower(), i.texts[1])
        for i in (section.items if section else ())
        if i.kind == "array" and i.texts[0] != "src"
    }
    return listed or None


PROXY_ENVS = ("testing", "staging", "production")


def proxy_urls(doc: ArcDoc) -> dict[str, str]:
    """@proxy: `testing|staging|production <url>`, where requests no route matches are sent."""
    found: dict[str, str] = {}
    for key, setting in v.settings(doc, doc.get("proxy")).items():
        if key not in PROXY_ENVS:
            raise v.unknown(doc, setting, "@proxy", PROXY_ENVS)
        url = v.text(doc, setting, f"@proxy {key}")
        if not url.startswith(("http://", "https://")):
            raise doc.error(setting.line, f"@proxy {key} must be an http:// or https:// URL, not {url!r}")
        found[key] = url.rstrip("/")
    section = doc.get("proxy")
    if section is not None:  # Architect refuses these at every command, deploy included: so do we, at start
        missing = [env for env in PROXY_ENVS if env not in found]
        if missing:
            raise doc.error(
                section.line,
                f"@proxy needs a URL for each of testing, staging and production (missing: {', '.join(missing)})",
            )
        if doc.get("http") is None:
            raise doc.error(section.line, "@proxy needs @http: it sends on what none of the app's routes takes")
    return found
