"""`--to-landing`: the simulator plays the server too and writes published landing shards.

Each frame is "received" at its true send time plus network latency (offline sessions hours
later), so lines land in the receive-time partitions a real ingestor would have used: a 30-day
run fills 30 daily partitions. A frame's lines are made by `ingestion.landing.lines.frame_lines`,
the function the ingestor calls (dead letters with the contract's own failure), and written
through `ShardWriter`. A frame whose connection dropped lands twice, the resend on a new
connection, as it would through a server.

Players are split into contiguous index ranges, one per worker process; each worker keeps one
shard writer per (stream, hour) and buffers lines in memory between writes. The set of lines
depends only on the seed and flags, never on the number of workers (only the shard files they
are spread over do).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import resource
import shutil
import traceback
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from ingestion.contract import VALID, Verdict, validate_event
from ingestion.landing.layout import Stream
from ingestion.landing.lines import frame_lines
from ingestion.landing.store import LandingStore, LocalStore, ShardLocation
from ingestion.landing.writer import ShardWriter
from ingestion.simulator.config import SimConfig
from ingestion.simulator.delivery import Frame
from ingestion.simulator.events import server_ts
from ingestion.simulator.players import iter_players
from ingestion.simulator.summary import Counts
from ingestion.simulator.truth import HEADERS, TruthParts, TruthWriter

HOUR_US = 3_600_000_000
BUFFER_LINES = 50_000  # lines held per worker between writes (~30 MB)
IO_THREADS = 16


def _raise_fd_limit() -> int:
    """Open shards: one per (stream, hour) touched. Raise the soft limit as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            target = 65536 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


class HourShards:
    """Lines buffered by (stream, receive hour), written to one ShardWriter per partition.

    Opening and publishing a shard each wait on fsyncs (of the file and its directory); the
    writes of a flush and the final publishes run in threads so that the disk serves those
    fsyncs together (fsync releases the GIL). Each writer is used by one thread at a time."""

    def __init__(
        self, landing_root: Path, start: datetime, store: LandingStore | None = None
    ) -> None:
        self.landing_root = landing_root
        self.store = store or LocalStore(landing_root)
        self.start = start
        self.buffers: dict[tuple[Stream, int], list[bytes]] = {}
        self.buffered = 0
        self.writers: OrderedDict[tuple[Stream, int], ShardWriter] = OrderedDict()
        self.retired: list[ShardWriter] = []
        # Leave room for everything else; past this, the least recently written shard is published.
        self.max_open = max(16, _raise_fd_limit() // 2 - 64)
        self.pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="shards")

    def buffer(self, stream: Stream, received_us: int) -> list[bytes]:
        """The lines waiting for the partition of `received_us`; append to it, then count them
        in `buffered`."""
        key = (stream, received_us // HOUR_US)
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = []
        return buf

    def flush_if_full(self) -> None:
        if self.buffered >= BUFFER_LINES:
            self.flush()

    def flush(self) -> None:
        jobs = []
        for key in sorted(self.buffers):
            writer = self.writers.get(key)
            if writer is None:
                while len(self.writers) >= self.max_open:
                    _, oldest = self.writers.popitem(last=False)
                    oldest.publish()
                    self.retired.append(oldest)
                writer = self.writers[key] = ShardWriter(
                    self.landing_root,
                    key[0],
                    max_age_seconds=float("inf"),
                    start=self.start,
                    store=self.store,
                )
            else:
                self.writers.move_to_end(key)
            hour = datetime.fromtimestamp(key[1] * 3600, UTC)
            jobs.append((writer, b"".join(self.buffers[key]), hour))
        for _ in self.pool.map(lambda job: job[0].write(job[1], job[2]), jobs):
            pass
        self.buffers.clear()
        self.buffered = 0

    def close(self) -> list[ShardLocation]:
        """Write what is buffered and publish every shard; the published paths."""
        try:
            self.flush()
            for _ in self.pool.map(ShardWriter.publish, self.writers.values()):
                pass
        finally:
            self.pool.shutdown()
        writers = self.retired + list(self.writers.values())
        self.writers.clear()
        return [path for writer in writers for path in writer.published]


def land_frame(frame: Frame, shards: HourShards, counts: Counts) -> None:
    """Land one frame as the ingestor would; twice when its connection dropped before the ack."""
    copies = [(frame.send_ms, frame.send_ms * 1000 + frame.latency_us, frame.connection_id)]
    counts.frames += 1
    if frame.drop:
        resend = frame.send_ms + frame.retry_ms
        copies.append((resend, resend * 1000 + frame.latency_us, frame.retry_connection_id))
        counts.dropped_connections += 1
        counts.retried_frames += 1
        counts.retried_events += len(frame.events)
    events = frame.events
    texts = list(map(orjson.dumps, events))
    verdicts = [VALID] * len(events)  # the simulator's own events pass the contract...
    for i in frame.bad:  # ...but the malformed ones it made, which the ingestor would refuse
        verdicts[i] = _refused(events[i])
    n = len(events)
    for send_ms, received_us, connection_id in copies:
        lines = frame_lines(
            texts,
            verdicts,
            server_ts(received_us),
            connection_id,
            frame.sent_at(send_ms),
            frame.batch_id,
        )
        counts.events_sent += n
        shards.buffered += n
        if lines.events:
            shards.buffer(Stream.EVENTS, received_us).append(lines.events)
        accepted = lines.valid + lines.unknown
        counts.landed_lines += accepted
        counts.acked += accepted
        if lines.rejected:
            shards.buffer(Stream.DEADLETTER, received_us).append(lines.deadletter)
            counts.deadletter_lines += len(lines.rejected)
            for _, failure in lines.rejected:
                counts.refused[str(failure.code)] += 1


def _refused(event: Any) -> Verdict:
    verdict = validate_event(event)
    assert verdict.failure is not None, "a malformed event passed the contract"
    return verdict


@dataclass(frozen=True)
class PlayerRange:
    """One worker's share of a run: players [lo, hi), landed under `landing_root` (published
    into `store`) by shard writers named with `start`, their truth rows written to files in
    `part_dir`."""

    cfg: SimConfig
    landing_root: Path
    lo: int
    hi: int
    start: datetime
    part_dir: Path
    store: LandingStore | None = None


def _simulate_range(task: PlayerRange, on_progress: Callable[[int, int], None]) -> Counts:
    """Simulate and land one range of players."""
    cfg = task.cfg
    counts = Counts()
    shards = HourShards(task.landing_root, task.start, task.store)
    truth = TruthParts()
    files = {name: (task.part_dir / name).open("w", newline="") for name in HEADERS}

    def report(done: int) -> None:
        for name, text in truth.take().items():
            files[name].write(text)
        on_progress(done, counts.events_sent)

    try:
        done = 0
        for life, delivery in iter_players(cfg, task.lo, task.hi):
            counts.add_player(life, delivery)
            truth.add(life, delivery)
            for frame in delivery.frames:
                land_frame(frame, shards, counts)
            shards.flush_if_full()
            done += 1
            if done % 64 == 0:
                report(done)
        counts.shards = len(shards.close())
        report(done)
    finally:
        for f in files.values():
            f.close()
    return counts


def _worker(task: PlayerRange, progress: Any, slot: int, results: Any) -> None:
    def on_progress(players: int, events: int) -> None:
        progress[2 * slot], progress[2 * slot + 1] = players, events

    try:
        counts = _simulate_range(task, on_progress)
        results.put((slot, "ok", counts))
    except BaseException:
        results.put((slot, "error", traceback.format_exc()))
        raise


def run_to_landing(
    cfg: SimConfig,
    landing_root: Path,
    truth_dir: Path,
    workers: int | None = None,
    show_progress: bool = True,
    store: LandingStore | None = None,
) -> Counts:
    """Simulate `cfg` into published shards under `landing_root` (or, with an object store,
    in flight there and published to it); write the truth files.

    `workers` processes (default: one per core) each take a contiguous range of players."""
    workers = max(1, min(workers or os.cpu_count() or 1, cfg.players))
    start = datetime.now(UTC)
    landing_root.mkdir(parents=True, exist_ok=True)
    truth = TruthWriter(truth_dir)
    part_root = truth_dir / f".parts-{os.getpid()}"
    bounds = [cfg.players * w // workers for w in range(workers + 1)]
    ctx = mp.get_context("fork")
    progress = ctx.Array("q", 2 * workers, lock=False)
    results = ctx.Queue()
    procs: list[Any] = []
    outcomes: dict[int, Counts] = {}
    bar = tqdm(
        total=cfg.players, unit="player", desc="simulate", disable=not show_progress, leave=False
    )
    try:
        for w in range(workers):
            (part_root / str(w)).mkdir(parents=True, exist_ok=True)
            task = PlayerRange(
                cfg, landing_root, bounds[w], bounds[w + 1], start, part_root / str(w), store
            )
            if workers == 1:  # no process to fork: simpler to debug, same output

                def on_progress(players: int, events: int) -> None:
                    bar.n = players
                    bar.set_postfix(events=f"{events:,}")

                outcomes[w] = _simulate_range(task, on_progress)
                break
            proc = ctx.Process(
                target=_worker, args=(task, progress, w, results), name=f"simulate-{w}"
            )
            proc.start()
            procs.append(proc)
        while len(outcomes) < workers:
            try:
                slot, status, payload = results.get(timeout=0.25)
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead and results.empty():
                    raise RuntimeError(
                        f"simulator worker {dead[0].name} died (exit code {dead[0].exitcode})"
                    ) from None
            else:
                if status == "error":
                    raise RuntimeError(f"simulator worker {slot} failed:\n{payload}")
                outcomes[slot] = payload
            bar.n = sum(progress[2 * w] for w in range(workers))
            bar.set_postfix(events=f"{sum(progress[2 * w + 1] for w in range(workers)):,}")
        for w in range(workers):
            truth.append_parts(part_root / str(w))
    finally:
        for proc in procs:
            if proc.is_alive() and len(outcomes) < workers:
                proc.terminate()
            proc.join()
        bar.close()
        truth.close()
        shutil.rmtree(part_root, ignore_errors=True)
    total = Counts()
    for w in range(workers):
        total.merge(outcomes[w])
    return total
