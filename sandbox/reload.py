"""Hot reload: watch the app folder and tell the sandbox what changed, classified by what it affects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change

from sandbox.file_watch import FileChange, FileWatch
from sandbox.model import Manifest

MANIFEST_FILES = frozenset(
    {"app.arc", ".arc", "arc.json", "arc.yaml", "arc.yml", "package.json", ".env"}
    | {"prefs.arc", "preferences.arc", ".prefs.arc", ".preferences.arc"}
    | {"config.arc", ".arc-config", "arc-config.json", "config.yaml", "config.yml", "arc-config.yaml", "arc-config.yml"}
)
IGNORED_DIRS = frozenset({".sandbox", ".git", "__pycache__", "node_modules", ".venv", ".mypy_cache", ".pytest_cache"})
IGNORED_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".swx", ".tmp")


def should_reload(change: Change, path: str) -> bool:
    """Pure filter: editor droppings and caches never trigger a reload."""
    p = Path(path)
    if any(part in IGNORED_DIRS for part in p.parts):
        return False
    name = p.name
    return not (name.endswith(IGNORED_SUFFIXES) or name.startswith(".#") or name in ("4913", ".DS_Store"))


@dataclass(frozen=True)
class ReloadPlan:
    manifest: bool = False
    functions: frozenset[Path] = frozenset()
    shared: bool = False
    static: bool = False

    @property
    def empty(self) -> bool:
        return not (self.manifest or self.functions or self.shared or self.static)


def classify(changes: Iterable[FileChange], manifest: Manifest) -> ReloadPlan:
    function_dirs = {fn.src_dir for fn in manifest.functions()}
    shared_dirs = [d for d in (manifest.shared_dir, manifest.views_dir) if d is not None]
    static_dir = manifest.root / manifest.static.folder if manifest.static else None
    is_manifest = is_shared = is_static = False
    functions: set[Path] = set()
    for _, raw in changes:
        path = Path(raw)
        if path.name in MANIFEST_FILES:
            is_manifest = True
        elif any(path.is_relative_to(d) for d in shared_dirs):
            is_shared = True
        elif static_dir is not None and path.is_relative_to(static_dir):
            is_static = True
        else:
            functions |= {d for d in function_dirs if path.is_relative_to(d)}
    return ReloadPlan(is_manifest, frozenset(functions), is_shared, is_static)


class Reloader:
    """Runs in the background; `on_change` does the reloading. A failing on_change is logged, not fatal."""

    def __init__(
        self,
        app_dir: Path,
        *,
        manifest: Callable[[], Manifest],
        on_change: Callable[[ReloadPlan], Awaitable[None]],
        changes: AsyncIterator[set[FileChange]] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app_dir = app_dir
        self._manifest = manifest
        self._on_change = on_change
        self._changes = changes
        self._logger = logger or logging.getLogger("arc_sandbox.reload")
        self._watch: FileWatch | None = None
        self._task: asyncio.Task[None] | None = None
        self._reloaded = asyncio.Condition()
        self.reloads = 0

    async def start(self) -> None:
        if self._task is None:
            # Small step and debounce: one save is seen within tens of milliseconds.
            changes = self._changes
            if changes is None:
                self._watch = FileWatch(self.app_dir, watch_filter=should_reload, debounce=100, step=10)
                self._watch.start()
                changes = self._watch
            self._task = asyncio.get_running_loop().create_task(self._run(changes))

    async def _run(self, changes: AsyncIterator[set[FileChange]]) -> None:
        async for batch in changes:
            plan = classify(batch, self._manifest())
            if plan.empty:
                continue
            try:
                await self._on_change(plan)
            except Exception:
                self._logger.exception("reload failed; the sandbox keeps running with what it had")
            async with self._reloaded:
                self.reloads += 1
                self._reloaded.notify_all()

    async def wait_for_reload(self, count: int) -> None:
        async with self._reloaded:
            await self._reloaded.wait_for(lambda: self.reloads >= count)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        watch, self._watch = self._watch, None
        if watch is not None:
            await watch.close()
