"""The oracle: at the end of each day, the simulator's true probability that a player is gone and
that they will play no session in the next 7, 10 or 14 days.

The oracle knows the player's hidden state after their last session (frustration, engagement,
habit, whether a return is still possible) but not the outcome of the random draws still to
come, nor whether a churn has already been decided since that session: it scores with the true
hazard. With no session, a player's state evolves without randomness (frustration cools,
interest fades), so both probabilities follow in closed form from the state after the last
session and the fact that no session has happened since:

- `daily` (default profile): at the end of each day the player churns with probability `h`;
  a player who stays plays no session the next day with probability `exp(-lambda)`. Along the
  quiet path, `a_j` (still there and quiet after j days) and the churn mass `c_j = a_j h_j`
  give P(quiet through day j) = `a_j + sum_{i<j} c_i (1 - R(j - i))`, R the chance that a churn
  is followed by a return within that many days.
- `renewal` (casual-mobile): after its last session the player left with probability p, and
  otherwise comes back after a log-normal gap (moved out of the night): P(quiet through t) =
  `p (1 - R(t)) + (1 - p) S(t)`, S the gap's survival.

Then P(no session in the next M days | quiet so far) = P(quiet through t + M) / P(quiet through t)
and P(gone) = P(churned and not back) / P(quiet through t). Windows that pass the end of the
period describe what the model would do; a label cannot observe them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from ingestion.simulator import daily, renewal
from ingestion.simulator.events import DAY_MS, HOUR_MS

HORIZONS = (7, 10, 14)  # days: the p_quiet_<M>d columns
ORACLE_COLUMNS = (
    "player_index",
    "date",
    "tenure_days",
    "p_gone",
    *(f"p_quiet_{m}d" for m in HORIZONS),
)
_BATCH = 4_096  # quiet paths computed together, similar spans (memory: batch x path length)


def _norm_sf(z: np.ndarray) -> np.ndarray:
    """1 - Phi(z) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    half_erfc = 0.5 * poly * np.exp(-x * x)
    return np.where(z >= 0, half_erfc, 1.0 - half_erfc)


class Table:
    """Oracle rows in (player, date) order, as columns."""

    def __init__(self, player: np.ndarray, day: np.ndarray, tenure: np.ndarray, values: np.ndarray):
        self.player, self.day, self.tenure, self.values = player, day, tenure, values

    def rows_of(self, p0: int, p1: int) -> tuple[int, int]:
        lo, hi = np.searchsorted(self.player, [p0, p1])
        return int(lo), int(hi)


def _spans(owner: np.ndarray, first: np.ndarray, limit: int) -> np.ndarray:
    """For rows sorted by owner: the day before the next row of the same owner, else limit."""
    nxt = np.full(owner.size, limit, dtype=np.int64)
    same = owner[1:] == owner[:-1]
    nxt[:-1][same] = first[1:][same]
    return nxt


def _expand(owner: np.ndarray, first: np.ndarray, until: np.ndarray):
    """Row r covers days first[r] .. until[r] - 1: (record of each row, offset j of each row)."""
    count = np.maximum(until - first, 0)
    record = np.repeat(np.arange(owner.size), count)
    offset = np.arange(record.size) - np.repeat(np.cumsum(count) - count, count)
    return record, offset


def daily_table(
    rec: daily.DayRecord,
    install_day: np.ndarray,
    interest_days: np.ndarray,
    trait_engagement: np.ndarray,
    start_ms: int,
    days: int,
) -> Table:
    """Rows for every day from each player's install to the end of the period."""
    until = _spans(rec.player, rec.day, days)
    span = until - rec.day  # days this record covers (J = 0 .. span - 1)
    base = np.cumsum(span) - span  # its first row in the output
    values = np.zeros((int(span.sum()), 1 + len(HORIZONS)))
    epoch_day0 = start_ms // DAY_MS
    # Most records cover a day or two: batches of records of similar span keep paths short.
    by_span = np.argsort(span, kind="stable")
    for b0 in range(0, by_span.size, _BATCH):
        sl = by_span[b0 : b0 + _BATCH]
        p, day0 = rec.player[sl], rec.day[sl]
        width = int(span[sl].max()) + max(HORIZONS) + 1
        j = np.arange(width)
        day = day0[:, None] + j[None, :]
        f = rec.frustration[sl][:, None] * daily.NIGHT_COOLING**j
        interest = daily.interest_at(day - install_day[p][:, None], interest_days[p][:, None])
        h = daily.churn_probability(f, interest, trait_engagement[p][:, None])
        lam = rec.engagement[sl][:, None] * interest * np.exp(-0.5 * f)
        lam *= np.where(daily.is_weekend(epoch_day0 + day), 1.3, 1.0)
        step = (1.0 - h[:, :-1]) * np.exp(-lam[:, 1:])
        a = np.concatenate([np.ones((len(p), 1)), np.cumprod(step, axis=1)], axis=1)
        c = a * h
        c_before = np.cumsum(c, axis=1) - c  # sum over i < j
        back = np.zeros_like(c)  # sum over i <= j - RETURN_MIN_DAYS of c_i R(j - i)
        for k in range(daily.RETURN_MIN_DAYS, width):
            w = 1.0 - math.exp(-(k - daily.RETURN_MIN_DAYS + 1) / daily.RETURN_MEAN_EXTRA_DAYS)
            back[:, k:] += c[:, :-k] * w
        back *= np.where(rec.can_return[sl], daily.RETURN_SHARE, 0.0)[:, None]
        quiet = a + c_before - back
        gone = (c_before + c - back) / quiet
        rr, jj = _expand(p, np.zeros(len(p), dtype=np.int64), span[sl])
        at = base[sl][rr] + jj
        values[at, 0] = gone[rr, jj]
        for k, m in enumerate(HORIZONS, start=1):
            values[at, k] = quiet[rr, jj + m] / quiet[rr, jj]
    record, j = _expand(rec.player, rec.day, until)
    player = rec.player[record]
    day = rec.day[record] + j
    return Table(player, day, day - install_day[player], values)


def renewal_table(
    rec: renewal.Record,
    install_day: np.ndarray,
    tz_hours: np.ndarray,
    start_ms: int,
    days: int,
) -> Table:
    """Rows for every day from each player's install to the end of the period."""
    starts = rec.start
    order = np.lexsort((starts, rec.player))
    player, start, end = rec.player[order], starts[order], rec.end[order]
    p_leave, mu, can_return = rec.p_leave[order], rec.gap_mu[order], rec.can_return[order]
    first = (start - start_ms) // DAY_MS
    until = _spans(player, first, days)
    record, j = _expand(player, first, until)
    day = first[record] + j
    pr, e, tz = player[record], end[record], tz_hours[player[record]]
    p, m, ret = p_leave[record], mu[record], can_return[record]

    def quiet(t_ms: np.ndarray) -> np.ndarray:
        raw = renewal.latest_raw(t_ms, tz)
        hours = (raw - e) / HOUR_MS
        survival = np.where(
            hours > 0,
            _norm_sf((np.log(np.maximum(hours, 1e-9)) - m) / renewal.GAP_SIGMA),
            1.0,
        )
        wait = (raw - e) / DAY_MS - daily.RETURN_MIN_DAYS
        back = np.where(
            ret & (wait > 0),
            renewal.RETURN_SHARE
            * (1.0 - np.exp(-np.maximum(wait, 0) / renewal.RETURN_MEAN_EXTRA_DAYS)),
            0.0,
        )
        return p * (1.0 - back), p * (1.0 - back) + (1.0 - p) * survival

    t = start_ms + (day + 1) * DAY_MS
    left, now = quiet(t)
    cols = [left / now] + [quiet(t + m_ * DAY_MS)[1] / now for m_ in HORIZONS]
    return Table(pr, day, day - install_day[pr], np.column_stack(cols))


def chunk_table(chunk: Any) -> Table:
    """The oracle's rows for a simulated chunk (`behaviour.Chunk`), players counted from 0."""
    pop, cfg = chunk.population, chunk.cfg
    if isinstance(chunk.schedule, renewal.Record):
        return renewal_table(
            chunk.schedule, pop["install_day"], pop["tz_hours"], cfg.start_ms, cfg.days
        )
    return daily_table(
        chunk.schedule,
        pop["install_day"],
        pop["interest_days"],
        pop["engagement"],
        cfg.start_ms,
        cfg.days,
    )


def csv_texts(table: Table, p0: int, p1: int, first_index: int, start_ms: int) -> list[str]:
    """The oracle's CSV rows (no header) of players p0 to p1 of the chunk, one text each."""
    r0, r1 = table.rows_of(p0, p1)
    if r0 == r1:
        return [""] * (p1 - p0)
    columns = {
        "player_index": pa.array(table.player[r0:r1] + first_index),
        "date": pa.array((start_ms // DAY_MS + table.day[r0:r1]).astype(np.int32), pa.date32()),
        "tenure_days": pa.array(table.tenure[r0:r1]),
    }
    values = np.round(np.clip(table.values[r0:r1], 0.0, 1.0), 6)
    for k, name in enumerate(ORACLE_COLUMNS[3:]):
        columns[name] = pa.array(values[:, k])
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.table(columns), sink, pa_csv.WriteOptions(include_header=False, quoting_style="none")
    )
    data = sink.getvalue().to_pybytes()
    line_ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
    rows_per_player = np.bincount(table.player[r0:r1] - p0, minlength=p1 - p0)
    bounds = np.concatenate([[0], line_ends])[np.cumsum(np.concatenate([[0], rows_per_player]))]
    text = data.decode("ascii")
    return [text[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
