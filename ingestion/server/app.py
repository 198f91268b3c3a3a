"""The WebSocket server: HTTP endpoints and admission before the upgrade, sessions after it.

Before the upgrade (`process_request`): `GET /healthz` and `GET /metrics` are answered as plain
HTTP; a WebSocket request without the token gets 401, one from a browser Origin not allowed gets
403, one over the connection limit or during shutdown gets 503. After it, a `Session` serves the
connection. `shutdown` stops accepting, answers every frame already read, publishes the shards.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import logging
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from ingestion.landing.layout import Stream
from ingestion.landing.store import ShardLocation, open_store
from ingestion.landing.writer import REAL_FILES, FileOps
from ingestion.server.committer import GroupCommitter
from ingestion.server.config import ServerConfig
from ingestion.server.limits import FRAMES_IN_QUEUE, MAX_FRAME_BYTES, BufferBudget
from ingestion.server.metrics import CONTENT_TYPE, Metrics
from ingestion.server.session import Session
from ingestion.server.wire import IngestConnection, connection_class
from ingestion.server.workers import WorkerTable

log = logging.getLogger("respawn.serve")

DRAIN_SECONDS = 10.0  # at most this long to answer in-flight frames on shutdown
# How long a close waits for the client's own close frame. Everything acknowledged is durable by
# then, so a client busy sending (not reading) must not hold a SIGTERM drain for websockets'
# default 10 s: that once made the drain take the whole DRAIN_SECONDS under a loaded test run.
CLOSE_TIMEOUT_SECONDS = 2.0


def landing_writable(landing_root: Path) -> str | None:
    """None when a file can be created in the landing directory, else why not."""
    probe = landing_root / f".healthz-{os.getpid()}"
    try:
        landing_root.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"ok\n")
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as e:
        return f"landing directory {landing_root} is not writable: {e.strerror or e}"
    return None


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, credentials = authorization.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


# Headers read once each: a request that repeats one is ambiguous (which token? which origin?).
SINGLE_HEADERS = ("Authorization", "Origin")


class IngestServer:
    def __init__(
        self,
        config: ServerConfig,
        *,
        recover: bool = True,
        workers: WorkerTable | None = None,
        fs: FileOps = REAL_FILES,
    ) -> None:
        self.config = config
        self.metrics = Metrics()
        self.budget = BufferBudget(config.max_buffered_bytes)
        self.metrics.budget = self.budget
        self.workers = workers  # the supervisor's table, when this is one of --workers N
        self.committer = GroupCommitter(
            config.landing_root,
            store=open_store(config.landing_location),
            fsync=config.durability == "fsync",
            publish_each_commit=config.durability == "publish",
            max_bytes=config.shard_max_bytes,
            max_age_seconds=config.shard_max_age,
            on_commit=self.metrics.on_commit,
            on_publish=self._on_publish,
            recover=recover,
            fs=fs,
        )
        self.metrics.awaiting_publish = lambda: self.committer.awaiting_publish
        self.sessions: dict[Session, asyncio.Task[None]] = {}
        self.draining = False
        self.server: Server | None = None
        self._publisher: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, *, reuse_port: bool = False) -> None:
        self.committer.start()
        await self.committer.maintain()  # a predecessor's in-flight shards first (or 503)
        self.server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            # Events are small and many: deflate would cost more CPU (and ~300 KiB of zlib state
            # per connection) than the bandwidth it saves on loopback or a LAN.
            compression=None,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            max_size=MAX_FRAME_BYTES,  # larger frames: close 1009, done by websockets
            max_queue=FRAMES_IN_QUEUE,
            create_connection=connection_class(self.budget, self.metrics),
            reuse_port=reuse_port or None,
        )
        self._publisher = asyncio.create_task(self._publish_periodically())

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def shutdown(self) -> None:
        """Stop accepting, answer what was read, close connections (1001), publish shards."""
        assert self.server is not None
        self.draining = True
        self.server.close(close_connections=False)  # new handshakes get 503
        for session in self.sessions:
            session.stop_reading()
        tasks = list(self.sessions.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
            for task in late:
                task.cancel()
            log.info(
                "connections drained",
                extra={"fields": {"connections": len(tasks), "cut": len(late)}},
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), DRAIN_SECONDS)
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
        await self.committer.close()

    async def _publish_periodically(self) -> None:
        interval = max(0.05, min(1.0, self.config.shard_max_age / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.committer.maintain()
            except OSError as e:
                log.error("landing maintenance failed", extra={"fields": {"error": str(e)}})

    def _on_publish(self, stream: Stream, _path: ShardLocation) -> None:
        self.metrics.shards_published[stream] += 1

    # -- connections ---------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, IngestConnection)
        session = Session(ws, self)
        task = asyncio.current_task()
        assert task is not None
        self.sessions[session] = task
        self.metrics.connections_open += 1
        self.metrics.connections_total += 1
        try:
            await session.run()
        finally:
            del self.sessions[session]
            self.metrics.connections_open -= 1

    # -- HTTP, before the upgrade --------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/healthz":
            return self._healthz(connection)
        if url.path == "/metrics":
            response = connection.respond(http.HTTPStatus.OK, self.metrics.render())
            response.headers["Content-Type"] = CONTENT_TYPE
            return response
        if self.draining:
            return self._refuse(connection, http.HTTPStatus.SERVICE_UNAVAILABLE, "shutting down")
        for name in SINGLE_HEADERS:
            if len(request.headers.get_all(name)) > 1:
                return self._refuse(
                    connection, http.HTTPStatus.BAD_REQUEST, f"the {name} header is sent twice"
                )
        token = self.config.token
        if token is not None:
            supplied = _bearer(request.headers.get("Authorization"))
            if supplied is None:
                supplied = parse_qs(url.query).get("token", [None])[-1]
            if supplied is None or not hmac.compare_digest(supplied.encode(), token.encode()):
                response = self._refuse(
                    connection,
                    http.HTTPStatus.UNAUTHORIZED,
                    "missing or wrong token: send 'Authorization: Bearer <token>' "
                    "or ?token=<token>",
                )
                response.headers["WWW-Authenticate"] = 'Bearer realm="respawn"'
                return response
        origin = request.headers.get("Origin")
        allowed = self.config.allowed_origins
        # Browsers always send Origin; other clients need not (they are held by the token).
        if allowed and origin is not None and origin.rstrip("/") not in allowed:
            return self._refuse(
                connection, http.HTTPStatus.FORBIDDEN, f"origin {origin} is not allowed"
            )
        if (problem := self.committer.problem) is not None:
            return self._refuse(
                connection,
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                f"storage unavailable ({problem}); retry later",
            )
        if len(self.sessions) >= self.config.max_connections:
            return self._refuse(
                connection,
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                f"connection limit ({self.config.max_connections}) reached; retry later",
            )
        return None

    def _refuse(
        self, connection: ServerConnection, status: http.HTTPStatus, reason: str
    ) -> Response:
        self.metrics.connections_refused[str(status.value)] += 1
        remote = connection.remote_address
        log.info(
            "handshake refused",
            extra={
                "fields": {
                    "status": status.value,
                    "reason": reason,
                    "remote": f"{remote[0]}:{remote[1]}" if remote else None,
                }
            },
        )
        return connection.respond(status, reason + "\n")

    def _healthz(self, connection: ServerConnection) -> Response:
        problem = landing_writable(self.config.landing_root) or self.committer.problem
        if problem is None and self.workers is not None:
            problem = self.workers.problem()
        if problem is None and self.draining:
            problem = "shutting down"
        body = {"status": "ok" if problem is None else "unavailable", "problem": problem}
        status = http.HTTPStatus.OK if problem is None else http.HTTPStatus.SERVICE_UNAVAILABLE
        response = connection.respond(status, orjson.dumps(body).decode() + "\n")
        response.headers["Content-Type"] = "application/json"
        return response
