"""Settings of `respawn serve`: every flag also reads an environment variable, flag wins."""

from __future__ import annotations

import argparse
import os
import resource
from dataclasses import dataclass
from pathlib import Path

from ingestion import settings
from ingestion.server.limits import MAX_BATCH_EVENTS, MAX_FRAME_BYTES, RESERVED_FILE_DESCRIPTORS

# fsync: ack once the lines are fsynced to the local in-flight shard (published within
#   --shard-max-age); flush: once written (survives a process crash, not a power loss);
# publish: once the shard holding them is published (with an s3:// landing: its PUT returned), so
#   every commit ends its shard.
DURABILITY_CHOICES = ("fsync", "flush", "publish")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: Path = Path("data")
    landing_url: str | None = None  # s3://bucket/prefix: published shards go there
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()
    durability: str = "fsync"
    shard_max_bytes: int = 64 * 1024 * 1024
    shard_max_age: float = 60.0
    max_connections: int = 10_000
    rate_limit: float = 50_000.0  # events per second per connection; 0 turns it off
    rate_burst: int = 100_000
    deadletter_rate: float = 256 * 1024.0  # bytes of dead-letter per second per connection
    deadletter_burst: int = 4 * 1024 * 1024
    max_buffered_bytes: int = 256 * 1024 * 1024  # frames held, over every connection
    window: int = 64  # frames a connection may have in flight before its reader waits
    workers: int = 1
    log_level: str = "INFO"

    @property
    def landing_root(self) -> Path:
        return settings.landing_root(self.data_dir)

    @property
    def landing_location(self) -> str:
        """Where shards are published: the landing URL, else the local landing directory."""
        return self.landing_url or str(self.landing_root)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"


class ConfigError(ValueError):
    """A setting that cannot work; the message says which and how to fix it."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _number_option(
    parser: argparse.ArgumentParser,
    flag: str,
    kind: type[int] | type[float],
    env: str,
    default: float,
    help_text: str,
) -> None:
    """A numeric option whose default comes from `env` (empty means 0), named in its help."""
    parser.add_argument(
        flag,
        type=kind,
        default=kind(_env(env, str(default)) or 0),
        help=f"{help_text} [{env}, %(default)s]",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = ServerConfig()
    parser.add_argument(
        "--host", default=_env("RESPAWN_HOST", d.host), help="interface [RESPAWN_HOST, %(default)s]"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(_env("RESPAWN_PORT", str(d.port)) or d.port),
        help="TCP port [RESPAWN_PORT, %(default)s]",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where landing/ lives [RESPAWN_DATA_DIR, default $RESPAWN_HOME or ./data]",
    )
    parser.add_argument(
        "--landing-url",
        default=_env(settings.LANDING_URL_VARIABLE),
        metavar="s3://BUCKET/PREFIX",
        help="publish shards to this object storage (one PUT each, If-None-Match: *; in-flight "
        f"shards stay under <data dir>/landing) [{settings.LANDING_URL_VARIABLE}; "
        f"endpoint: {settings.S3_ENDPOINT_VARIABLE}; credentials: AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY; default: publish into <data dir>/landing]",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=_env("RESPAWN_TOKEN_FILE"),
        help="file holding the bearer token clients must present [RESPAWN_TOKEN_FILE; no auth]",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        dest="allowed_origins",
        default=None,
        metavar="ORIGIN",
        help="browser Origin allowed to connect, repeatable "
        "[RESPAWN_ALLOWED_ORIGINS, comma separated; any]",
    )
    parser.add_argument(
        "--durability",
        choices=DURABILITY_CHOICES,
        default=_env("RESPAWN_DURABILITY", d.durability),
        help="ack after fsync to the local in-flight shard (crash-safe), after write (survives a "
        "process crash, not a power loss), or after the shard is published (with --landing-url: "
        "the PUT; one shard per commit) [RESPAWN_DURABILITY, %(default)s]",
    )
    _number_option(
        parser,
        "--shard-max-bytes",
        int,
        "RESPAWN_SHARD_MAX_BYTES",
        d.shard_max_bytes,
        "publish a shard at this size",
    )
    _number_option(
        parser,
        "--shard-max-age",
        float,
        "RESPAWN_SHARD_MAX_AGE",
        d.shard_max_age,
        "publish a shard after this many seconds",
    )
    _number_option(
        parser,
        "--max-connections",
        int,
        "RESPAWN_MAX_CONNECTIONS",
        d.max_connections,
        "refuse more connections with HTTP 503",
    )
    _number_option(
        parser,
        "--rate-limit",
        float,
        "RESPAWN_RATE_LIMIT",
        d.rate_limit,
        "events per second per connection, 0 = unlimited",
    )
    _number_option(
        parser,
        "--rate-burst",
        int,
        "RESPAWN_RATE_BURST",
        d.rate_burst,
        "events a connection may send at once above the rate",
    )
    _number_option(
        parser,
        "--deadletter-rate",
        float,
        "RESPAWN_DEADLETTER_RATE",
        d.deadletter_rate,
        "bytes of refused frames and events a connection may have dead-lettered per second "
        "(past its burst: closed with 1008)",
    )
    _number_option(
        parser,
        "--deadletter-burst",
        int,
        "RESPAWN_DEADLETTER_BURST",
        d.deadletter_burst,
        "bytes a connection may have dead-lettered at once above that rate",
    )
    _number_option(
        parser,
        "--max-buffered-bytes",
        int,
        "RESPAWN_MAX_BUFFERED_BYTES",
        d.max_buffered_bytes,
        "bytes of frames held (read, not yet acknowledged) over every connection; past it, "
        "connections wait",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(_env("RESPAWN_WORKERS", "1") or 1),
        help="server processes sharing the port (SO_REUSEPORT), each with its own shards "
        "[RESPAWN_WORKERS, %(default)s]",
    )
    parser.add_argument(
        "--log-level",
        default=_env("RESPAWN_LOG_LEVEL", d.log_level),
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="[RESPAWN_LOG_LEVEL, %(default)s]",
    )


def read_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"cannot read the token file {path}: {e.strerror}") from e
    if not token:
        raise ConfigError(f"the token file {path} is empty; put the shared secret in it")
    return token


def from_args(args: argparse.Namespace) -> ServerConfig:
    data_dir = args.data_dir or Path(_env("RESPAWN_DATA_DIR") or settings.respawn_home())
    origins = args.allowed_origins
    if origins is None:
        origins = [o.strip() for o in (_env("RESPAWN_ALLOWED_ORIGINS") or "").split(",")]
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=Path(data_dir).resolve(),
        landing_url=(args.landing_url or "").strip() or None,
        token=read_token(Path(args.token_file)) if args.token_file else None,
        allowed_origins=tuple(o.rstrip("/") for o in origins if o),
        durability=args.durability,
        shard_max_bytes=args.shard_max_bytes,
        shard_max_age=args.shard_max_age,
        max_connections=args.max_connections,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
        deadletter_rate=args.deadletter_rate,
        deadletter_burst=args.deadletter_burst,
        max_buffered_bytes=args.max_buffered_bytes,
        workers=args.workers,
        log_level=args.log_level,
    )
    validate(config)
    return config


def to_args(config: ServerConfig, token_file: Path | None) -> list[str]:
    """The flags that make `from_args` build `config` again, whatever the environment says
    (flags win): how a supervising `respawn serve --workers N` starts its workers. The token
    stays in its file, never on a command line."""
    args = ["--host", config.host, "--port", str(config.port), "--data-dir", str(config.data_dir)]
    # An empty --landing-url stands for the local landing, whatever RESPAWN_LANDING_URL says.
    args += ["--landing-url", config.landing_url or ""]
    if token_file is not None:
        args += ["--token-file", str(token_file)]
    # An empty --allowed-origin stands for none, so that RESPAWN_ALLOWED_ORIGINS cannot add any.
    for origin in config.allowed_origins or ("",):
        args += ["--allowed-origin", origin]
    args += ["--durability", config.durability]
    args += ["--shard-max-bytes", str(config.shard_max_bytes)]
    args += ["--shard-max-age", repr(config.shard_max_age)]
    args += ["--max-connections", str(config.max_connections)]
    args += ["--rate-limit", repr(config.rate_limit), "--rate-burst", str(config.rate_burst)]
    args += ["--deadletter-rate", repr(config.deadletter_rate)]
    args += ["--deadletter-burst", str(config.deadletter_burst)]
    args += ["--max-buffered-bytes", str(config.max_buffered_bytes)]
    args += ["--workers", str(config.workers), "--log-level", config.log_level]
    return args


def validate(config: ServerConfig) -> None:
    if config.landing_url is not None and not config.landing_url.startswith("s3://"):
        raise ConfigError(
            f"--landing-url {config.landing_url!r} is not object storage: write "
            "s3://bucket/prefix, or leave it out to publish into <data dir>/landing"
        )
    if config.landing_url is not None and not config.landing_url.removeprefix("s3://").strip("/"):
        raise ConfigError("--landing-url names no bucket: write s3://bucket/prefix")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"--port {config.port} is not a TCP port (0-65535)")
    if config.shard_max_bytes <= 0 or config.shard_max_age <= 0:
        raise ConfigError("--shard-max-bytes and --shard-max-age must be positive")
    if config.max_connections <= 0:
        raise ConfigError("--max-connections must be positive")
    if config.rate_limit < 0:
        raise ConfigError("--rate-limit must be 0 (unlimited) or positive")
    if config.rate_limit and config.rate_burst < MAX_BATCH_EVENTS:
        raise ConfigError(
            f"--rate-burst {config.rate_burst} is below the batch limit {MAX_BATCH_EVENTS}: "
            "a full batch could never be admitted; raise it"
        )
    if config.deadletter_rate <= 0 or config.deadletter_burst <= 0:
        raise ConfigError("--deadletter-rate and --deadletter-burst must be positive")
    if config.max_buffered_bytes < MAX_FRAME_BYTES:
        raise ConfigError(
            f"--max-buffered-bytes {config.max_buffered_bytes} is below one frame "
            f"({MAX_FRAME_BYTES} bytes); raise it"
        )
    if config.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if config.workers > 1 and config.port == 0:
        raise ConfigError("--workers above 1 needs a fixed --port (the workers share it)")


def ensure_file_descriptors(config: ServerConfig) -> None:
    """Make room for `--max-connections` sockets: raise this process's soft limit on open files
    towards the hard one, or refuse to start (an idle-socket flood would otherwise make health
    checks and new connections fail with "too many open files")."""
    needed = config.max_connections + RESERVED_FILE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return
    raise ConfigError(
        f"--max-connections {config.max_connections} needs about {needed} file descriptors, "
        f"but this process may open at most {hard} (RLIMIT_NOFILE). Raise the limit "
        f"(`ulimit -n {needed}` in the shell, LimitNOFILE={needed} in a systemd unit, "
        f"--ulimit nofile={needed} for docker) or lower --max-connections to "
        f"{max(1, hard - RESERVED_FILE_DESCRIPTORS)}"
    )
