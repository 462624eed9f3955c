"""FunctionSpec for each Lambda: its folder and its config, layered defaults < @aws < config.arc (§1.5, §1.6)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from sandbox._manifest import project
from sandbox._manifest import values as v
from sandbox._manifest.nodes import ArcDoc
from sandbox._manifest.sources import FUNCTION_CONFIGS, first_existing, read_doc
from sandbox.model import AwsSettings, FunctionSpec, Pragma

CONFIG_PRAGMAS = ("aws", "arc")
CONFIG_AWS_KEYS = [
    "runtime",
    "memory",
    "timeout",
    "concurrency",
    "layers",
    "policies",
    "architecture",
    "storage",
    "fifo",
    "provisionedConcurrency",
]
CONFIG_ARC_KEYS = ("env", "shared", "views", "ignoreDependencies")


@dataclass(frozen=True)
class Built:
    spec: FunctionSpec
    fifo: bool | None = None  # config.arc `@aws fifo` (queues only)


class FunctionFactory:
    """Builds every FunctionSpec of one project: the folder, then project @aws, then the folder's config.arc."""

    def __init__(self, doc: ArcDoc, root: Path, aws: AwsSettings) -> None:
        self.doc, self.root, self.aws = doc, root, aws

    def src_dir(self, pragma: str, folder: str, src: v.Located | None) -> Path:
        # normpath, not resolve(): the root is already absolute, and a stat per function slows big manifests.
        if src is None:
            return Path(os.path.normpath(os.path.join(self.root, "src", pragma, folder)))
        return Path(os.path.normpath(os.path.join(self.root, v.text(self.doc, src, "src"))))

    def build(self, pragma: Pragma, name: str, src_dir: Path, *, views: bool = False) -> Built:
        spec = FunctionSpec(
            pragma=pragma,
            name=name,
            src_dir=src_dir,
            timeout=self.aws.timeout,
            memory=self.aws.memory,
            runtime=self.aws.runtime,
            views=views,
        )
        config = first_existing(src_dir, FUNCTION_CONFIGS)
        if config is None:
            return Built(spec)
        return _apply_config(read_doc(config), spec)


def _apply_config(doc: ArcDoc, spec: FunctionSpec) -> Built:
    for name, section in doc.sections.items():
        if name not in CONFIG_PRAGMAS:
            raise doc.error(section.line, f"unknown pragma @{name} in a function config (known: @aws, @arc)")
    built = _aws_config(doc, spec)
    return replace(built, spec=_arc_config(doc, built.spec))


def _aws_config(doc: ArcDoc, spec: FunctionSpec) -> Built:
    fifo: bool | None = None
    for key, setting in v.settings(doc, doc.get("aws")).items():
        if key == "timeout":
            spec = replace(spec, timeout=v.positive_number(doc, setting, "@aws timeout"))
        elif key == "memory":
            spec = replace(spec, memory=project.memory(doc, setting))
        elif key == "runtime":
            spec = replace(spec, runtime=project.runtime(doc, setting))
        elif key == "fifo":
            fifo = v.boolean(doc, setting, "@aws fifo")
        elif key not in CONFIG_AWS_KEYS:
            raise v.unknown(doc, setting, "@aws", tuple(CONFIG_AWS_KEYS))
    return Built(spec, fifo)


def _arc_config(doc: ArcDoc, spec: FunctionSpec) -> FunctionSpec:
    found = v.settings(doc, doc.get("arc"))
    for key, setting in found.items():
        if key not in CONFIG_ARC_KEYS:
            raise v.unknown(doc, setting, "@arc", CONFIG_ARC_KEYS)
    if "env" in found:
        spec = replace(spec, env=v.boolean(doc, found["env"], "@arc env"))
    if "shared" in found:
        spec = replace(spec, shared=v.boolean(doc, found["shared"], "@arc shared"))
    if "views" in found:
        spec = replace(spec, views=v.boolean(doc, found["views"], "@arc views"))
    return spec
