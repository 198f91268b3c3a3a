"""`respawn serve` settings: flags, the environment variable behind each, and clear errors."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.server import command
from ingestion.server.config import ConfigError, ServerConfig, from_args, to_args
from ingestion.server.limits import MAX_BATCH_EVENTS


def parse(*argv: str) -> ServerConfig:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    return from_args(parser.parse_args(["serve", *argv]))


def test_defaults_listen_on_loopback_8765_with_fsync_under_respawn_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESPAWN_HOME", str(tmp_path))
    config = parse()
    assert (config.host, config.port, config.durability) == ("127.0.0.1", 8765, "fsync")
    assert config.data_dir == tmp_path and config.landing_root == tmp_path / "landing"
    assert config.token is None and config.allowed_origins == () and config.workers == 1


def test_every_setting_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("  from-a-file \n")
    env = {
        "RESPAWN_HOST": "0.0.0.0",
        "RESPAWN_PORT": "9000",
        "RESPAWN_DATA_DIR": str(tmp_path / "d"),
        "RESPAWN_TOKEN_FILE": str(token),
        "RESPAWN_ALLOWED_ORIGINS": "https://a.test, https://b.test/",
        "RESPAWN_DURABILITY": "flush",
        "RESPAWN_SHARD_MAX_BYTES": "1000",
        "RESPAWN_SHARD_MAX_AGE": "2.5",
        "RESPAWN_MAX_CONNECTIONS": "7",
        "RESPAWN_RATE_LIMIT": "100",
        "RESPAWN_RATE_BURST": "600",
        "RESPAWN_WORKERS": "2",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = parse()
    assert config == ServerConfig(
        host="0.0.0.0", port=9000, data_dir=tmp_path / "d", token="from-a-file",
        allowed_origins=("https://a.test", "https://b.test"), durability="flush",
        shard_max_bytes=1000, shard_max_age=2.5, max_connections=7,
        rate_limit=100.0, rate_burst=600, workers=2,
    )  # fmt: skip


def test_flags_win_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPAWN_PORT", "9000")
    monkeypatch.setenv("RESPAWN_ALLOWED_ORIGINS", "https://a.test")
    config = parse(
        "--port", "9100", "--data-dir", str(tmp_path),
        "--allowed-origin", "https://x.test", "--allowed-origin", "https://y.test",
    )  # fmt: skip
    assert config.port == 9100 and config.data_dir == tmp_path
    assert config.allowed_origins == ("https://x.test", "https://y.test")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate-limit", "10", "--rate-burst", "499"], "a full batch could never be admitted"),
        (["--workers", "2", "--port", "0"], "needs a fixed --port"),
        (["--shard-max-bytes", "0"], "must be positive"),
        (["--port", "70000"], "is not a TCP port"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_fix(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse("--data-dir", str(tmp_path), *argv)


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        parse("--token-file", str(tmp_path / "token"))


# -- a supervisor's workers get the supervisor's settings ------------------------------------

OTHER_ENVIRONMENT = {  # what the flags of `to_args` must win over
    "RESPAWN_HOST": "10.9.9.9",
    "RESPAWN_PORT": "9999",
    "RESPAWN_DATA_DIR": "/elsewhere",
    "RESPAWN_ALLOWED_ORIGINS": "https://evil.test",
    "RESPAWN_DURABILITY": "flush",
    "RESPAWN_SHARD_MAX_BYTES": "7",
    "RESPAWN_SHARD_MAX_AGE": "0.25",
    "RESPAWN_MAX_CONNECTIONS": "3",
    "RESPAWN_RATE_LIMIT": "1",
    "RESPAWN_RATE_BURST": "9999",
    "RESPAWN_WORKERS": "5",
    "RESPAWN_LOG_LEVEL": "ERROR",
}


@st.composite
def server_configs(draw: st.DrawFn) -> ServerConfig:
    rate_limit = draw(st.one_of(st.just(0.0), st.floats(0.001, 1e7)))
    workers = draw(st.integers(1, 8))
    return ServerConfig(
        host=draw(st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "ingest.example.com"])),
        port=draw(st.integers(1 if workers > 1 else 0, 65535)),
        data_dir=Path("/srv") / draw(st.sampled_from(["respawn", "a b", "dt=1"])),
        allowed_origins=tuple(
            draw(st.lists(st.sampled_from(["https://a.test", "http://[::1]:8000"]), max_size=2))
        ),
        durability=draw(st.sampled_from(["fsync", "flush"])),
        shard_max_bytes=draw(st.integers(1, 2**40)),
        shard_max_age=draw(st.floats(1e-3, 1e6)),
        max_connections=draw(st.integers(1, 10**6)),
        rate_limit=rate_limit,
        rate_burst=draw(st.integers(MAX_BATCH_EVENTS if rate_limit else 0, 10**7)),
        workers=workers,
        log_level=draw(st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"])),
    )


@settings(max_examples=150, deadline=None)
@given(config=server_configs(), with_token=st.booleans())
def test_the_flags_of_a_config_give_that_config_back_whatever_the_environment(
    config: ServerConfig, with_token: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    token_file = None
    if with_token:
        token_file = tmp_path_factory.getbasetemp() / "worker-token"
        token_file.write_text("s3cret\n")
        config = replace(config, token="s3cret")
    saved = {name: os.environ.get(name) for name in OTHER_ENVIRONMENT}
    os.environ.update(OTHER_ENVIRONMENT)
    try:
        assert parse(*to_args(config, token_file)) == config
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
