"""The demo hands the simulator a random token: any token must reach it intact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orchestration.cli import build_parser
from orchestration.demo.run import simulate_argv


@pytest.mark.parametrize(
    "token", ["-starts-with-a-dash", "--looks-like-an-option", "plain_Token-1"]
)
def test_the_simulator_receives_the_demo_token_whatever_its_first_character(token: str) -> None:
    argv = simulate_argv(1500, 60, date(2026, 1, 1), 7, "ws://127.0.0.1:1/", token, Path("/x"))
    args = build_parser().parse_args(argv)
    assert args.token == token
    assert (args.players, args.days, args.seed) == (1500, 60, 7)
