"""The ingestor killed with `kill -9` again and again while simulated clients send, with their
retries on: no acknowledged event is lost, and the copies the retries add are removed downstream.

An ack goes out only after the write is fsynced, so an acknowledged event is in an in-flight
shard when the process dies; the next `respawn serve` publishes what the dead one left in flight.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from ingestion.landing.layout import inflight_shards, parse_shard_name, published_path
from ingestion.settings import landing_root, truth_root
from ingestion.simulator.truth import ACKS, read_csv
from tests.e2e.pipeline import (
    REPO,
    TOKEN,
    Pipeline,
    copies_per_event,
    history_start,
    reconciliation,
    scalar,
    simulate_command,
)
from tests.support.ingestor import Ingestor, running_ingestor

KILLS = 4
ACCEPTED_BEFORE_KILL = 300  # events each server process accepts before it is killed
_ACCEPTED = re.compile(r"^respawn_events_accepted_total\{[^}]*\} (\d+)$", re.M)


def accepted(ingestor: Ingestor) -> int:
    """Events the running process accepted (and acknowledged) since it started."""
    return sum(int(n) for n in _ACCEPTED.findall(ingestor.metrics()))


def in_flight_of(ingestor_root: Path, pid: int) -> list[Path]:
    return [
        p
        for p in inflight_shards(ingestor_root)
        if (name := parse_shard_name(p.name)) is not None and name.pid == pid
    ]


def wait_until_accepted(ingestor: Ingestor, sim: subprocess.Popen[str], n: int) -> None:
    deadline = time.monotonic() + 60
    while accepted(ingestor) < n:
        assert sim.poll() is None, "the simulation ended before the kill: slow it down (--rate)"
        assert time.monotonic() < deadline, f"the ingestor accepted fewer than {n} events in 60 s"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkilled_ingestor_loses_no_acknowledged_event_and_retried_copies_are_deduplicated(
    home: Path, pipeline: Pipeline
) -> None:
    truth = truth_root(home)
    recovered: list[Path] = []
    with running_ingestor(home, token=TOKEN) as ing:
        argv = simulate_command(
            "--players", "150",
            "--days", "20",
            "--start", history_start(20),
            "--seed", "11",
            "--url", ing.url,
            "--token", TOKEN,
            "--truth-dir", str(truth),
            "--rate", "1500",  # slow enough to be killed under, several times
            "--ack-timeout", "5",
        )  # fmt: skip
        log = (home / "simulate.log").open("w+")
        sim = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            for _ in range(KILLS):
                wait_until_accepted(ing, sim, ACCEPTED_BEFORE_KILL)
                dead = ing.pid
                assert ing.kill() == -9
                left = {p: p.stat().st_size for p in in_flight_of(ing.landing_root, dead)}
                # Acknowledged events that nothing had published yet: the point of the kill.
                assert any(size > 0 for p, size in left.items() if "/events/" in p.as_posix())
                ing.start()
                # The new process published what the dead one left in flight (an empty shard
                # is removed instead).
                assert in_flight_of(ing.landing_root, dead) == []
                assert all(published_path(p).exists() for p, size in left.items() if size)
                recovered += [published_path(p) for p, size in left.items() if size]
            exit_code = sim.wait(timeout=180)
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.wait()
            log.seek(0)
            output = log.read()
            log.close()
        assert exit_code == 0, output[-4000:]
        # The last process dies too: only recovery by its successor publishes its shards.
        dead = ing.pid
        ing.kill()
        ing.start()
        assert in_flight_of(ing.landing_root, dead) == []
        assert ing.stop() == 0, ing.logs()[-3000:]
    assert len(recovered) >= KILLS

    # Every acknowledged event is in a published shard; nothing is left in flight.
    acks = read_csv(truth / ACKS)
    acked = {row["event_id"] for row in acks if row["outcome"] == "acked"}
    landed = copies_per_event(home)
    assert inflight_shards(landing_root(home)) == []
    assert acked - set(landed) == set()
    # The kills cut acknowledgements: the clients resent those frames.
    outcomes = Counter(row["outcome"] for row in acks)
    assert outcomes["unacked"] > 0
    assert any(n > 1 for n in landed.values())

    # Downstream: every landed copy in raw_events, one row per event_id in events.
    pipeline.load_every_landed_day()
    assert scalar(home, "select count(*) from raw.raw_events") == sum(landed.values())
    assert scalar(home, "select count(*) from raw.events") == len(landed)
    assert scalar(home, "select count(distinct event_id) from raw.events") == len(landed)
    checks = reconciliation(home, truth, marts=False)
    assert [c.line() for c in checks if not c.ok] == []
    assert len(checks) == 5
