"""The parsed project: frozen dataclasses shared by every component.

`manifest.load_manifest()` builds these; the server, invoker, bus and store only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias

Json: TypeAlias = Any
"""A value that `json.dumps` accepts."""

Pragma = Literal["http", "events", "queues", "scheduled", "tables-streams", "ws"]
KeyType = Literal["S", "N", "B"]
ApiType = Literal["http", "httpv1", "rest"]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MEMORY = 1152
DEFAULT_REGION = "us-west-2"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda: where its code lives and how it is configured (defaults < @aws < config.arc)."""

    pragma: Pragma
    name: str  # inventory name: "get /notes/:id" for @http, the plain name otherwise
    src_dir: Path  # absolute
    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY
    runtime: str = "python3.12"
    env: bool = True  # config.arc `@arc env false` turns user env vars off
    shared: bool = True
    views: bool = False

    @property
    def function_name(self) -> str:
        """Lambda's function name as the context object reports it."""
        return f"sandbox-{self.name.replace(' ', '')}" if self.pragma == "http" else f"sandbox-{self.name}"


@dataclass(frozen=True)
class HttpRoute:
    method: str  # lower case: get post put patch delete options head any
    path: str  # as written in app.arc: /notes/:id, /widgets/*
    function: FunctionSpec


@dataclass(frozen=True)
class EventSpec:
    name: str
    function: FunctionSpec


@dataclass(frozen=True)
class WsSpec:
    """One @ws route: `connect`, `disconnect`, `default` (always there) or an action name."""

    name: str
    function: FunctionSpec


@dataclass(frozen=True)
class QueueSpec:
    name: str
    function: FunctionSpec
    fifo: bool = True  # Architect's default
    batch_size: int = 10
    batch_window: float = 0.0  # seconds
    visibility_timeout: float | None = None  # None: 6 x the function timeout


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    function: FunctionSpec
    rate: str | None = None  # the text inside rate(...), e.g. "5 minutes"
    cron: str | None = None  # the six fields inside cron(...)
    timezone: str | None = None


@dataclass(frozen=True)
class KeyAttr:
    name: str
    type: KeyType


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: KeyAttr
    sort_key: KeyAttr | None = None
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str  # logical name from app.arc
    partition_key: KeyAttr
    sort_key: KeyAttr | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = ()
    stream: bool = False  # a @tables-streams function reads it: the table gets a NEW_AND_OLD_IMAGES stream


@dataclass(frozen=True)
class TableStreamSpec:
    """A @tables-streams function (or a legacy `stream true` table): invoked with the table's stream records."""

    name: str
    table: str  # logical table name
    function: FunctionSpec


@dataclass(frozen=True)
class StaticSpec:
    folder: str = "public"
    prefix: str | None = None
    spa: bool = False
    fingerprint: bool | Literal["external"] = False  # external: the user's own build fingerprints
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class AwsSettings:
    region: str = DEFAULT_REGION
    profile: str | None = None
    apigateway: ApiType = "http"
    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY
    runtime: str = "python3.12"


@dataclass(frozen=True)
class Ports:
    """Ports asked for by prefs.arc `@sandbox ports`; None means "not set there"."""

    http: int | None = None
    events: int | None = None
    tables: int | None = None
    internal: int | None = None


@dataclass(frozen=True)
class Prefs:
    """prefs.arc / preferences.arc (local over global) and .env."""

    ports: Ports = field(default_factory=Ports)
    env: str | None = None  # @sandbox env: overrides ARC_ENV
    livereload: bool = True
    seed_data: str | None = None
    # @env sections; when .env exists it replaces the whole block and fills `testing` only.
    env_vars: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    app: str
    root: Path  # absolute project folder
    source: Path | None  # the manifest file read; None for the default project
    aws: AwsSettings = field(default_factory=AwsSettings)
    http: tuple[HttpRoute, ...] = ()  # already in Architect's route order (reference §1.4)
    events: tuple[EventSpec, ...] = ()
    queues: tuple[QueueSpec, ...] = ()
    scheduled: tuple[ScheduleSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    tables_streams: tuple[TableStreamSpec, ...] = ()
    ws: tuple[WsSpec, ...] = ()  # empty without @ws; else connect, default, disconnect, then the actions
    proxy: dict[str, str] = field(default_factory=dict)  # @proxy: ARC_ENV -> URL for requests no route matches
    static: StaticSpec | None = None
    shared_dir: Path | None = None  # src/shared if it exists (or @shared src)
    views_dir: Path | None = None  # src/views if it exists (or @views src)
    prefs: Prefs = field(default_factory=Prefs)
    not_emulated: tuple[str, ...] = ()  # pragmas parsed but not emulated (@plugins @cdn @create)

    def functions(self) -> list[FunctionSpec]:
        """Every function of the app, each pragma's in manifest order: what reloads, Lambda Invoke and checks cover."""
        found = [route.function for route in self.http]
        for group in (self.events, self.queues, self.scheduled, self.tables_streams, self.ws):
            found += [spec.function for spec in group]
        return found

    def user_env(self, arc_env: str) -> dict[str, str]:
        """The user's variables for one ARC_ENV (`.env` or prefs.arc `@env`)."""
        return dict(self.prefs.env_vars.get(arc_env, {}))


class Invoke(Protocol):
    """Run one function with one event; what the bus and the server are given to call handlers.

    Returns the handler's result. Raises `errors.HandlerFailedError` (the handler raised or failed to
    import), `errors.HandlerTimeoutError` or `errors.HandlerNotFoundError`.
    """

    async def __call__(self, fn: FunctionSpec, event: Json, *, request_id: str | None = None) -> Json: ...
