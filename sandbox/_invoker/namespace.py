"""A module namespace per function, so two functions can each `import util` and get their own.

On Lambda every function is its own process with its folder first on sys.path. In one process we get
the same effect without touching sys.path: every function's modules live under a private package
prefix (`__arcfn_<n>__.util`), and the function's modules get an `__import__` that maps their
top-level imports of local names onto that prefix. Everything else (stdlib, boto3, `arc`) is shared.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

_ORIGINAL_IMPORT = builtins.__import__
PREFIX = "__arcfn_"


class FunctionNamespace:
    """The modules of one function folder (plus its vendor/, and `shared`/`views`), under `root`."""

    def __init__(self, root: str, search: Sequence[Path], aliases: Mapping[str, Path]) -> None:
        self.root = root
        self.search = [p for p in search if p.is_dir()]
        self.aliases = {name: path for name, path in aliases.items() if path.is_dir()}
        self.builtins: dict[str, Any] = dict(vars(builtins))
        self.builtins["__import__"] = self._import
        self._local: dict[str, bool] = {}

    def is_local(self, top: str) -> bool:
        found = self._local.get(top)
        if found is None:
            found = top in self.aliases or any(
                (d / f"{top}.py").is_file() or (d / top).is_dir() or any(d.glob(f"{top}.*.so")) for d in self.search
            )
            self._local[top] = found
        return found

    def _import(
        self,
        name: str,
        globals: Mapping[str, object] | None = None,
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        if level == 0 and name and self.is_local(name.partition(".")[0]):
            module = _ORIGINAL_IMPORT(f"{self.root}.{name}", globals, locals, fromlist, 0)
            if fromlist:
                return module
            return sys.modules[f"{self.root}.{name.partition('.')[0]}"]
        return _ORIGINAL_IMPORT(name, globals, locals, fromlist, level)

    def find_spec(self, fullname: str, path: Sequence[str] | None) -> importlib.machinery.ModuleSpec | None:
        rest = fullname[len(self.root) + 1 :]
        if fullname == self.root:
            spec = importlib.machinery.ModuleSpec(fullname, _NamespaceLoader(), is_package=True)
            spec.submodule_search_locations = [str(p) for p in self.search]
            return spec
        if "." not in rest and rest in self.aliases:
            return self._alias_spec(fullname, self.aliases[rest])
        found = importlib.machinery.PathFinder.find_spec(fullname, path)
        if found is not None and found.loader is not None:
            found.loader = _BuiltinsLoader(found.loader, self.builtins)
        return found

    def _alias_spec(self, fullname: str, folder: Path) -> importlib.machinery.ModuleSpec | None:
        init = folder / "__init__.py"
        if init.is_file():
            found = importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[str(folder)])
            if found is not None and found.loader is not None:
                found.loader = _BuiltinsLoader(found.loader, self.builtins)
            return found
        spec = importlib.machinery.ModuleSpec(fullname, _NamespaceLoader(), is_package=True)
        spec.submodule_search_locations = [str(folder)]
        return spec

    def load(self, module_name: str) -> ModuleType:
        return importlib.import_module(f"{self.root}.{module_name}")

    def unload(self) -> None:
        for name in [n for n in sys.modules if n == self.root or n.startswith(self.root + ".")]:
            del sys.modules[name]


class _NamespaceLoader(importlib.abc.Loader):
    """A package with no code of its own: the function folder, or a shared folder without __init__.py."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        return None


class _BuiltinsLoader(importlib.abc.Loader):
    """Runs a loader, but first gives the module the namespace's builtins (and so its __import__)."""

    def __init__(self, inner: importlib.abc.Loader, namespace_builtins: dict[str, Any]) -> None:
        self._inner = inner
        self._builtins = namespace_builtins

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__builtins__ = self._builtins  # type: ignore[attr-defined]
        self._inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_filename, get_resource_reader...: linecache and importlib.resources need them
        return getattr(self._inner, name)


class NamespaceFinder(importlib.abc.MetaPathFinder):
    """On sys.meta_path while an invoker runs; answers only for its own namespaces' prefixes."""

    def __init__(self) -> None:
        self.namespaces: dict[str, FunctionNamespace] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PREFIX):
            return None
        namespace = self.namespaces.get(fullname.partition(".")[0])
        return namespace.find_spec(fullname, path) if namespace else None
