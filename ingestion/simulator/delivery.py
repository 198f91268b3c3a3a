"""How a player's device reports its sessions: client events stamped by the device clock, framed
the way its client version frames them, with the data-quality faults of real traffic.

- Client versions: before the rollout (and until the player updates, a few days later; a few
  never do) the old client sends one bare event per frame, with no envelope and so no `sent_at`.
  The new client sends each session's events as batch envelopes when the session ends.
- Offline buffering: a whole session delivered hours later in one go.
- Out of order: two neighbouring events of a session delivered in swapped order.
- Duplicates: an event sent again in an extra frame seconds later.
- Malformed: a corrupted copy of an event sent beside it (dead-lettered by the ingestor).
- Dropped connections: the connection drops after a frame is sent, before its ack, so the client
  resends it (the WebSocket sender really drops; `--to-landing` lands the second copy itself).

Decisions are drawn from the player's delivery RNG only, so they are the same in both modes.
Everything is delivered before the period ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ingestion.simulator.behaviour import PlayerLife
from ingestion.simulator.clock import DeviceClock
from ingestion.simulator.config import SimConfig
from ingestion.simulator.events import BUILDERS, DAY_MS, HOUR_MS, client_ts, new_uuid
from ingestion.simulator.faults import corrupt

OLD_CLIENT = "1.4.2"  # bare events, one per frame
NEW_CLIENT = "1.5.0"  # batch envelopes with sent_at
NEVER_UPDATE_SHARE = 0.05
UPDATE_MEAN_DAYS = 2.0

FIRST, DUPLICATE = "first", "duplicate"


@dataclass(slots=True)
class Frame:
    """One WebSocket frame as the device sends it."""

    send_ms: int  # true time the device sends it
    events: list[dict[str, Any]]
    bad: tuple[int, ...]  # indices of the malformed events in `events`
    batch_id: str | None  # None: a bare single-event frame of the old client
    clock: DeviceClock
    connection_id: str  # the server's id for the connection (to-landing only)
    latency_us: int  # network latency to the server (to-landing only)
    why: str = FIRST  # first | duplicate (an extra send of the same event ids)
    drop: bool = False  # the connection drops before this frame's ack arrives
    retry_ms: int = 0  # to-landing: after a drop, the resend leaves this much later...
    retry_connection_id: str = ""  # ...on a new connection

    def sent_at(self, true_ms: int) -> str | None:
        """The envelope's `sent_at` for a send at true time `true_ms`, by the device clock."""
        return None if self.batch_id is None else client_ts(self.clock.read(true_ms))


@dataclass(slots=True)
class SessionDelivery:
    client_version: str
    offline: bool
    out_of_order: bool


@dataclass(slots=True)
class Delivery:
    clock: DeviceClock
    update_ms: int | None  # when the player switched to the new client (None: never or n/a)
    frames: list[Frame]
    sessions: list[SessionDelivery] = field(default_factory=list)
    duplicates: int = 0  # extra copies sent on purpose
    malformed: int = 0


def _update_ms(rng: random.Random, cfg: SimConfig, install_ms: int) -> int | None:
    """When the player's device first runs the new client; None when there is no rollout."""
    rollout = cfg.rollout_ms
    u, wait = rng.random(), rng.expovariate(1.0 / UPDATE_MEAN_DAYS)
    if rollout is None:
        return None
    if install_ms >= rollout:
        return install_ms  # installs the new client
    if u < NEVER_UPDATE_SHARE:
        return cfg.end_ms  # still on the old client at the end
    return rollout + int(wait * DAY_MS)


def plan_delivery(
    life: PlayerLife, rng: random.Random, cfg: SimConfig, clock: DeviceClock, stamps: list[str]
) -> Delivery:
    """How the device delivers `life`: `clock` is the device's, `stamps` the device's reading
    (`client_ts`) at each of the life's events, sessions in order (`players` computes both for
    many players at once)."""
    faults = cfg.faults
    rand = rng.random
    update_ms = _update_ms(rng, cfg, life.install_ms)
    delivery = Delivery(clock, update_ms, [])
    frames = delivery.frames
    last_send = cfg.end_ms - 2_000  # latest a frame may leave; resends and latency fit after it
    user_id = life.user_id
    first = 0
    for s in life.sessions:
        old = update_ms is not None and s.start_ms < update_ms
        version = OLD_CLIENT if old else NEW_CLIENT
        sid = s.session_id
        n = len(s.events)
        events = [
            BUILDERS[name](eid, user_id, sid, stamp, version, extra)
            for (_, name, eid, extra), stamp in zip(
                s.events, stamps[first : first + n], strict=True
            )
        ]
        first += n
        times = [e[0] for e in s.events]
        order = list(range(n))
        out_of_order = n >= 2 and rand() < faults.out_of_order
        if out_of_order:
            j = int(rand() * (n - 1))
            order[j], order[j + 1] = order[j + 1], order[j]
        offline = rand() < faults.offline
        delivery.sessions.append(SessionDelivery(version, offline, out_of_order))
        # One connection per session (a page load); one latency per connection, so that its
        # frames arrive in the order they were sent, as TCP guarantees.
        conn = new_uuid(rng)
        latency = 20_000 + int(380_000 * rand())
        base = 0  # an offline session leaves in one go, 1 to 12 hours after it ended
        if offline:
            base = min(s.end_ms + HOUR_MS + int(11 * HOUR_MS * rand()), last_send - 60_000)
        # (send time, indices into `events`) per frame, before malformed copies and duplicates
        planned: list[tuple[int, list[int]]] = []
        if old:
            if offline:
                planned = [(base + 20 * k, [i]) for k, i in enumerate(order)]
            else:
                sends = [times[i] + 20 + int(380 * rand()) for i in range(n)]
                if out_of_order:  # the earlier of the swapped pair leaves after the later one
                    a, b = sorted(order[j : j + 2])
                    sends[a] = sends[b] + 100 + int(2_900 * rand())
                planned = [(sends[i], [i]) for i in order]
        else:
            flush = base if offline else s.end_ms + 50 + int(1_450 * rand())
            size = cfg.batch_size
            planned = [(flush + k, order[k : k + size]) for k in range(0, n, size)]
        for send, idx in planned:
            batch = [events[i] for i in idx]
            bad: list[int] = []
            if faults.malformed:
                for k in range(len(batch) - 1, -1, -1):
                    if rand() < faults.malformed:
                        broken = corrupt(rng, batch[k], new_uuid(rng))
                        if old:
                            frames.append(
                                Frame(send + 1, [broken], (0,), None, clock, conn, latency)
                            )
                        else:
                            batch.insert(k + 1, broken)
                            bad = [b + 1 for b in bad]
                            bad.append(k + 1)
                        delivery.malformed += 1
            frames.append(
                Frame(
                    send,
                    batch,
                    tuple(sorted(bad)),
                    None if old else new_uuid(rng),
                    clock,
                    conn,
                    latency,
                )
            )
            if faults.duplicate:
                for k, event in enumerate(batch):
                    if k not in bad and rand() < faults.duplicate:
                        again = min(send + 1_000 + int(29_000 * rand()), last_send)
                        frames.append(
                            Frame(
                                again,
                                [event],
                                (),
                                None if old else new_uuid(rng),
                                clock,
                                conn,
                                latency,
                                DUPLICATE,
                            )
                        )
                        delivery.duplicates += 1
    if faults.drop_connection:
        for frame in frames:
            if rand() < faults.drop_connection:
                frame.drop = True
                frame.retry_ms = 500 + int(4_500 * rand())
                frame.retry_connection_id = new_uuid(rng)
    frames.sort(key=_send_ms)
    return delivery


def _send_ms(frame: Frame) -> int:
    return frame.send_ms
