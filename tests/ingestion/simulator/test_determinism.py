"""Same seed, same flags: the same events, whatever the parallelism."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import orjson

from ingestion.landing.layout import Stream, published_shards
from ingestion.simulator.config import FaultRates, SimConfig
from ingestion.simulator.players import iter_players
from ingestion.simulator.to_landing import run_to_landing
from ingestion.simulator.truth import PLAYERS, RAGE_QUITS, SESSIONS
from tests.ingestion.simulator.conftest import TEST_FAULTS

CFG = SimConfig(players=60, days=4, start=date(2026, 5, 4), seed=42, faults=TEST_FAULTS)


def all_lines(landing_root: Path) -> dict[str, list[bytes]]:
    return {
        stream: sorted(
            line
            for shard in published_shards(landing_root, stream)
            for line in shard.read_bytes().splitlines()
        )
        for stream in Stream
    }


def test_landed_lines_and_truth_are_identical_with_one_or_two_workers(tmp_path: Path) -> None:
    for workers in (1, 2):
        run_to_landing(
            CFG,
            tmp_path / f"w{workers}" / "landing",
            tmp_path / f"w{workers}" / "truth",
            workers,
            show_progress=False,
        )
    one, two = all_lines(tmp_path / "w1" / "landing"), all_lines(tmp_path / "w2" / "landing")
    assert len(one[Stream.EVENTS]) > 1000 and one[Stream.DEADLETTER]
    assert one == two  # received_at included: in --to-landing the server's clock is simulated
    for name in (PLAYERS, SESSIONS, RAGE_QUITS):
        assert (tmp_path / "w1" / "truth" / name).read_bytes() == (
            tmp_path / "w2" / "truth" / name
        ).read_bytes()


def frames_text(cfg: SimConfig) -> list[bytes]:
    return [
        orjson.dumps([f.batch_id, f.events, f.bad, f.drop])
        for _, delivery in iter_players(cfg)
        for f in delivery.frames
    ]


def test_the_websocket_frames_carry_the_same_events_for_the_same_seed() -> None:
    assert frames_text(CFG) == frames_text(CFG)


def test_another_seed_gives_other_players_and_ids() -> None:
    a = [life.user_id for life, _ in iter_players(CFG)]
    b = [life.user_id for life, _ in iter_players(replace(CFG, seed=43))]
    assert not set(a) & set(b)


def test_what_players_do_does_not_depend_on_the_fault_flags() -> None:
    faulty = list(iter_players(CFG))
    clean = list(iter_players(replace(CFG, faults=FaultRates.none())))
    assert [life.user_id for life, _ in faulty] == [life.user_id for life, _ in clean]
    assert [[s.events for s in life.sessions] for life, _ in faulty] == [
        [s.events for s in life.sessions] for life, _ in clean
    ]
    # ...while how they are delivered does
    assert frames_text(CFG) != frames_text(replace(CFG, faults=FaultRates.none()))


def test_a_player_is_the_same_in_a_larger_population() -> None:
    assert (
        next(iter_players(replace(CFG, players=5)))[0].user_id == next(iter_players(CFG))[0].user_id
    )
