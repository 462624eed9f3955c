"""Sandbox: every emulated service for one app folder, started in dependency order, stopped in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web

from sandbox.apigateway.fingerprint import sync_static_manifest
from sandbox.apigateway.integration import Router
from sandbox.apigateway.livereload import LiveReload
from sandbox.apigateway.proxy import Proxy
from sandbox.apigateway.websocket import WebSocketApi
from sandbox.arc._tables import AsyncTablesClient, async_client
from sandbox.bus import DeliveryResult, EventBus
from sandbox.clock import Clock, FakeClock, SystemClock
from sandbox.config import SandboxConfig
from sandbox.control import control_routes
from sandbox.dashboard import bus_state
from sandbox.dashboard.api import Dashboard
from sandbox.dashboard.recorder import InvocationRecorder, Observers
from sandbox.datalock import DataLock
from sandbox.db import Database
from sandbox.dynamodb.protocol import DynamoEndpoint
from sandbox.dynamodb.stream_delivery import StreamDelivery
from sandbox.errors import ManifestError
from sandbox.guard import HostPolicy, is_loopback
from sandbox.lambdas.environment import AppEnvironment
from sandbox.lambdas.handler_check import warn_missing_handlers
from sandbox.lambdas.invocations import InvocationObserver
from sandbox.lambdas.invoker import Invoker
from sandbox.lambdas.launchers import ForkServer, Launcher, Spawner, default_launcher
from sandbox.lambdas.log_tail import LogTails
from sandbox.lambdas.wire import LambdaApi
from sandbox.manifest import load_manifest
from sandbox.messaging.listener import bus_routes
from sandbox.messaging.sns_wire import SnsApi
from sandbox.messaging.sqs_wire import SqsApi
from sandbox.messaging.wire_dispatch import events_port_middleware
from sandbox.model import Manifest
from sandbox.ports import PortChoice, resolve_ports
from sandbox.reload import Reloader, ReloadPlan
from sandbox.runtime import Services
from sandbox.server import Limits, Listeners, build_service_app
from sandbox.ssm import Discovery, ssm_routes
from sandbox.store import TableStore

SEED_FILE = "sandbox-seed.json"
ROOT_HANDLER_PATHS = ("/", "/*")


class Sandbox:
    """Every emulated service for one app directory.

    Example:
        async with Sandbox(SandboxConfig.ephemeral(Path("example-app"))) as sb:
            print(sb.ports["http"])
    """

    def __init__(
        self,
        config: SandboxConfig,
        *,
        clock: Clock | None = None,
        logger: logging.Logger | None = None,
        observer: InvocationObserver | None = None,
    ):
        self.config = config
        self.clock = clock or SystemClock()
        self.logger = logger or logging.getLogger("arc_sandbox")
        self.manifest: Manifest = load_manifest(config.app_dir)
        warn_missing_handlers(self.manifest, self.logger)
        self.arc_env = config.arc_env or self.manifest.prefs.env or "testing"
        self.router = Router(self.manifest.http)
        self.db = Database(config.database_path)
        region = self.manifest.aws.region
        self.store = TableStore(
            self.db, clock=self.clock, app_name=self.manifest.app, tables=self.manifest.tables, region=region
        )
        self._host_env = dict(os.environ)  # read once: the sandbox never writes os.environ for handlers
        self.recorder = InvocationRecorder(now=self.clock.now)  # the dashboard's; `observer` hears every call too
        self.log_tails = LogTails()  # Invoke's LogType=Tail
        self.invoker = Invoker(
            environment=lambda fn: self.app_environment().for_function(fn),
            shared_dir=self.manifest.shared_dir,
            views_dir=self.manifest.views_dir,
            region=region,
            services=self._services,
            logger=self.logger.getChild("invoke"),
            observer=Observers(self.recorder, self.log_tails, *([observer] if observer else [])),
            concurrency=config.concurrency,
            idle_timeout=config.idle_timeout,
            launcher=_launcher(config.launcher),
        )
        self.bus = EventBus(
            self.manifest,
            self.invoker,
            db=self.db,
            clock=self.clock,
            logger=self.logger.getChild("bus"),
            run_schedules=config.run_schedules,
        )
        self.streams = StreamDelivery(
            self.store.ctx,
            self.store.physical_name,
            self.invoker,
            clock=self.clock,
            specs=self.manifest.tables_streams,
            logger=self.logger.getChild("streams"),
        )
        self.store.on_write(self.streams.notify)
        self.livereload = LiveReload()
        self.ws = WebSocketApi(
            self.invoker, lambda: self.manifest, clock=self.clock, stage=self.arc_env, logger=self.logger.getChild("ws")
        )
        self.proxy = Proxy()
        self.lambdas = LambdaApi(
            self.invoker,
            lambda: self.manifest,
            invoke_async=self.bus.invoke_async,
            account_id=self.bus.account_id,
            tails=self.log_tails,
            logger=self.logger.getChild("lambda"),
        )
        self.dashboard = Dashboard(
            recorder=self.recorder,
            bus=self.bus,
            store=self.store,
            manifest=lambda: self.manifest,
            app_url=lambda: self.url,
        )
        self.reloader: Reloader | None = None
        self.listeners: Listeners | None = None
        self.ports: dict[str, int] = {}
        self.started_in: float | None = None  # seconds, for the banner
        self.restored: dict[str, int] = {}  # what the bus found stored from the last run, for the banner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._data_lock: DataLock | None = None
        self._stack = contextlib.AsyncExitStack()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        started = time.perf_counter()
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        self.started_in = time.perf_counter() - started

    async def _start(self) -> None:
        # Stop order is the reverse: file watching, then every port stops accepting at once while
        # in-flight requests and deliveries share one grace period (`_stop_serving`), then the
        # store, the database, the invoker, and last the data folder's lock.
        stack = self._stack
        self._loop = asyncio.get_running_loop()
        if self.manifest.source is None:  # Architect says so too, then serves its default project
            self.logger.warning(
                "No Architect manifest (app.arc, .arc, arc.json, arc.yaml or package.json `arc`) in %s: "
                "serving the default project (public/ at /, no functions)",
                self.manifest.root,
            )
        self._lock_data()  # before anything starts: a second sandbox on the same data stops here
        # First, so the template process imports the runtime while the database and ports open.
        await self.invoker.start()
        stack.push_async_callback(self.invoker.stop)
        await stack.enter_async_context(self.db)
        await self.store.start()
        stack.push_async_callback(self.store.stop)
        await self._seed()
        self._fingerprint()
        choices = resolve_ports(self.config, self.manifest.prefs.ports, os.environ)
        await self.bus.prepare()  # the ports open before the bus starts: what they accept meanwhile is stored
        self.listeners = self._listeners()
        stack.push_async_callback(self._stop_serving, self.listeners)
        tables = choices["tables"]
        self.ports["tables"] = await self.listeners.listen_tables(
            DynamoEndpoint(self.store), host=self.config.host, port=tables.port, fixed=tables.fixed
        )
        for service, app in self._service_apps().items():
            await self._listen(service, app, choices[service])
        self.ports["_arc"] = self.ports["internal"]
        http = choices["http"]
        self.ports["http"] = await self.listeners.listen_http(
            self, logger=self.logger.getChild("http"), host=self.config.host, port=http.port, fixed=http.fixed
        )
        stack.push_async_callback(self.proxy.close)
        stack.push_async_callback(self.ws.close_all)  # before the http port closes: each socket's disconnect runs
        if self._data_lock is not None:  # the CLI's commands find this sandbox by its data folder
            self._data_lock.record_ports(self.ports)
        self._warn_if_reachable()
        await self.bus.start()
        self.restored = bus_state.restored(self.bus)  # before the pump's first turn delivers any of it
        await self.streams.start()
        stack.push_async_callback(self.streams.stop, self.config.shutdown_grace)
        stack.push_async_callback(self.livereload.close)
        stack.push_async_callback(self.dashboard.close)
        if self.config.watch:
            self.reloader = Reloader(
                self.config.app_dir, manifest=lambda: self.manifest, on_change=self.apply_reload, logger=self.logger
            )
            await self.reloader.start()
            stack.push_async_callback(self.reloader.stop)

    def _service_apps(self) -> dict[str, web.Application]:
        sns, sqs = SnsApi(self.bus, lambda: self.manifest), SqsApi(self.bus, lambda: self.manifest)
        discovery = Discovery(
            app_name=lambda: self.manifest.app,
            arc_env=self.arc_env,
            tables=self.store.logical_tables,
            ports=lambda: self.ports,
            events=sns.topic_arns,
            queues=lambda: sqs.queue_urls(f"http://{self.public_host}:{self.ports['events']}"),
        )
        events_routes = [*bus_routes(self.bus), *control_routes(self.bus), *self.lambdas.routes()]
        return {
            "events": build_service_app(events_routes, middlewares=[events_port_middleware(sns, sqs)]),
            "internal": build_service_app(
                [*ssm_routes(discovery), *self.livereload.routes(), *self.ws.routes(), *self.dashboard.routes()]
            ),
        }

    async def _listen(self, service: str, app: web.Application, choice: PortChoice) -> None:
        assert self.listeners is not None
        self.ports[service] = await self.listeners.listen(
            app, service=service, host=self.config.host, port=choice.port, fixed=choice.fixed
        )

    # --- reliability: the data lock, the ports' protections, one shutdown for all (issue 11) --------

    def _lock_data(self) -> None:
        """A sandbox with its data on disk holds a lock in its folder: `reset` refuses while it runs."""
        path = self.config.database_path
        if path is not None:
            lock = DataLock(path)
            lock.acquire()
            self._data_lock = lock
            self._stack.callback(lock.release)

    def _listeners(self) -> Listeners:
        config = self.config
        limits = Limits(
            header_timeout=config.header_timeout,
            body_timeout=config.body_timeout,
            max_connections=config.max_connections,
        )
        return Listeners(limits=limits, policy=HostPolicy(config.host), logger=self.logger.getChild("server"))

    async def _stop_serving(self, listeners: Listeners) -> None:
        """Every port stops accepting at once; in-flight requests and bus deliveries get the grace
        period together (the ports' open connections still serve the deliveries' calls back); any
        request still running then gets a 503."""
        grace = self.config.shutdown_grace
        listeners.stop_accepting()
        await asyncio.gather(listeners.drain(grace), self.bus.stop(grace))
        await listeners.close()

    def _warn_if_reachable(self) -> None:
        host = self.config.host
        if is_loopback(host):
            return
        where = "every network interface" if host in ("0.0.0.0", "::", "") else host
        ports = ", ".join(f"{name} {self.ports[name]}" for name in ("http", "events", "tables", "internal"))
        self.logger.warning(
            "Listening on %s: other machines can reach the app and the sandbox's own ports (%s): "
            "publish events, send queue messages, read and write tables. Requests must name this "
            "machine's address or localhost in Host.",
            where,
            ports,
        )

    async def stop(self) -> None:
        """Stop taking work, let in-flight work finish (bounded), close the database. Safe to call twice."""
        await self._stack.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- what the rest of the sandbox asks -------------------------------------------------------

    @property
    def public_host(self) -> str:
        return "localhost" if self.config.host in ("127.0.0.1", "0.0.0.0", "::") else self.config.host

    @property
    def url(self) -> str:
        return f"http://{self.public_host}:{self.ports['http']}"

    @property
    def serves_static_root(self) -> bool:
        """No get/any route on /, /* or /:param: unmatched GETs are served from public/ (Architect's ASAP)."""
        return not any(
            route.method in ("get", "any")
            and (route.path in ROOT_HANDLER_PATHS or route.path.count("/") == 1 and route.path.startswith("/:"))
            for route in self.manifest.http
        )

    @property
    def livereload_port(self) -> int | None:
        enabled = self.config.livereload if self.config.livereload is not None else self.manifest.prefs.livereload
        return self.ports.get("internal") if enabled and self.config.watch else None

    def _services(self) -> Services | None:
        return Services(bus=self.bus, store=self.store, loop=self._loop, ws=self.ws) if self._loop else None

    def app_environment(self) -> AppEnvironment:
        """The environment variables functions get, and `client()`: what a script needs to reach this sandbox."""
        host = self.config.host
        endpoint_host = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
        return AppEnvironment(
            self.manifest, arc_env=self.arc_env, ports=self.ports, host_env=self._host_env, endpoint_host=endpoint_host
        )

    def _fingerprint(self) -> None:
        """public/static.json, as Architect's sandbox keeps it for `@static fingerprint true`."""
        static = self.manifest.static
        if static is None or self.manifest.source is None:
            return
        outcome = sync_static_manifest(self.manifest.root / static.folder, static.fingerprint, static.ignore)
        if outcome == "written":
            self.logger.info("Static asset fingerprinting enabled, %s/static.json written", static.folder)
        elif outcome == "removed":
            self.logger.warning("Fingerprinting is off; removed %s/static.json", static.folder)

    async def _seed(self) -> None:
        seed = self.manifest.prefs.seed_data
        path = (self.manifest.root / seed) if seed else (self.manifest.root / SEED_FILE)
        if self.arc_env != "testing":
            if path.is_file():  # as Architect does; said, so that empty tables are no mystery
                self.logger.info(
                    "Seed data %s not loaded: ARC_ENV is %s, seeding is for testing", path.name, self.arc_env
                )
            return
        if path.is_file():
            started = time.perf_counter()
            tables, rows = await self.store.seed(path)
            ms = (time.perf_counter() - started) * 1000
            self.logger.info("Seeded %d tables with %d rows from %s in %.0fms", tables, rows, path.name, ms)

    # --- tests and tools ---------------------------------------------------------------------

    async def settle(self, *, raise_on_failure: bool = True, max_rounds: int = 10_000) -> list[DeliveryResult]:
        """Return once every event, queue message, Lambda async invoke, table stream record and retry has been handled.

        With a FakeClock, time is advanced to each next due delivery (a retry's backoff, a delayed
        message), so work that would take minutes settles at once. Schedules fire only when due now.
        """
        results: list[DeliveryResult] = []
        for _ in range(max_rounds):
            await self.ws.drain()
            results += await self.bus.drain(raise_on_failure=raise_on_failure)
            streamed = await self.streams.drain(raise_on_failure=raise_on_failure)
            results += streamed
            if streamed:  # a stream function may have published or written: drain again
                continue
            due = min((d for d in (self.bus.next_due(), self.streams.next_due()) if d is not None), default=None)
            if due is None or not isinstance(self.clock, FakeClock):
                return results
            self.clock.advance(max(0.0, due - self.clock.now()))
        raise RuntimeError(f"the bus did not settle after {max_rounds} rounds (a message loop?)")

    def tables(self) -> AsyncTablesClient:
        """The app's tables by logical name, plain values, for tests: `await sb.tables().tasks.scan_all()`."""
        services = self._services()
        if services is None:
            raise RuntimeError("the sandbox is not started")
        return async_client(services)

    async def apply_reload(self, plan: ReloadPlan) -> None:
        started = time.perf_counter()
        what: list[str] = []
        if plan.manifest:
            if not await self._reload_manifest():
                return
            what.append("manifest")
        elif plan.shared:
            self.invoker.invalidate()
            what.append("shared code")
        elif plan.functions:
            self.invoker.invalidate(set(plan.functions))
            what.append(", ".join(sorted(_relative(p, self.manifest.root) for p in plan.functions)))
        if plan.static or plan.manifest:
            self._fingerprint()
        if plan.static:
            what.append("static files")
        told = await self.livereload.broadcast()
        ms = (time.perf_counter() - started) * 1000
        if what:
            extra = f", {told} browser tab(s) told" if told else ""
            self.logger.info("Reloaded %s in %.0fms%s", " and ".join(what), ms, extra)

    async def _reload_manifest(self) -> bool:
        try:
            manifest = load_manifest(self.config.app_dir)
        except ManifestError as error:
            self.logger.error("Manifest not reloaded, keeping the last good one: %s", error)
            return False
        self.manifest = manifest
        warn_missing_handlers(manifest, self.logger)
        self.router = Router(manifest.http)
        self.invoker.shared_dir, self.invoker.views_dir = manifest.shared_dir, manifest.views_dir
        self.invoker.invalidate()
        await self.store.sync_manifest(manifest.app, manifest.tables)
        self.bus.update_manifest(manifest)
        self.streams.update(manifest.tables_streams)
        return True


def _launcher(name: str) -> Launcher:
    if name == "fork":
        return ForkServer()
    if name == "spawn":
        return Spawner()
    return default_launcher()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
