"""Reasons: the features that raised a player's score, as sentences a live-ops team can act on.

Each sentence states the player's value and a reference:
- the player's **usual** value when their history allows it (a count over the last N days: the
  same count over the rest of their 28 days, scaled to N days; a rate: the rate over those earlier
  matches; recency: their mean gap between sessions; a trend: the week before);
- else the **typical player at the same tenure** (`peers`: the median of the players of the same
  `ml.tenure.PEERS` band in the scored frame; a player on day 2 is compared with players on day 2,
  not with veterans);
- else (a band with fewer than MIN_PEERS players, or tenure itself) the whole scored
  **population**'s median.

A contribution raising the score is shown as a reason only when its sentence reads as a risk:
each feature has a direction that means risk (more rage quits, fewer sessions, a longer break),
and the player's value must differ from the reference that way, as shown (rounded the way the
sentence prints it) and by something (a tenth of the larger value, or 5 points of a percentage).
So "4 rage quits, usually about 6" never appears as raising risk, a value equal to its reference
("0 (typical player: 0)") never appears at all, and neither does a break length for a player who
has had no break yet. Features of unknown meaning have no direction: they are shown when they
differ from the reference, in a neutral sentence. Each player gets up to REASONS_PER_PLAYER
reasons, from the largest contributions down, one per topic (the two recency
features, or a rate over no matches and the match count, say the same thing once).

Everything is computed per feature over all the rows that need it (numpy), the sentences only for
the reasons kept, and each distinct printed value's phrase once: reasons for 100,000 players cost
a fraction of their TreeSHAP values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.explain import REASONS_PER_PLAYER, top_positive
from ml.feature_contract import LONGEST_WINDOW, TENURE_FEATURE, parse_feature, windowed_feature
from ml.tenure import PEERS, TenureBands

USUAL = "usual"
PEER = "peers"
POPULATION = "population"
_KINDS = np.array([None, USUAL, PEER, POPULATION], dtype=object)
_NONE, _USUAL, _PEER, _POPULATION = range(4)
# A player's own history counts as "usual" once it spans at least this many earlier days.
MIN_HISTORY_DAYS = 7
# A tenure band's median is "the typical player" once the band has this many players.
MIN_PEERS = 20
# A band's median is taken over at most this many of its players (every k-th, so the same rows
# each time): as good a "typical player" as all 100,000, at a fraction of the cost.
MEDIAN_ROWS = 5_000
# How many of a player's largest contributions are considered for their reasons.
CANDIDATES_PER_PLAYER = 8

RISE, FALL, EITHER = 1, -1, 0  # the direction of a feature that reads as a risk

_COUNTS: dict[str, tuple[str, str, int]] = {
    "sessions": ("session", "sessions", FALL),
    "matches": ("match", "matches", FALL),
    "wins": ("win", "wins", FALL),
    "losses": ("loss", "losses", RISE),
    "rage_quits": ("rage quit", "rage quits", RISE),
    "disconnects_network": ("network disconnect", "network disconnects", RISE),
    "disconnects_quit": ("quit mid-match", "quits mid-match", RISE),
    "disconnects_crash": ("crash", "crashes", RISE),
    "minutes_played": ("minute played", "minutes played", FALL),
}
_RATES: dict[str, tuple[str, int]] = {
    "win_rate": ("won {value} of matches", FALL),
    "loss_rate": ("lost {value} of matches", RISE),
    "bot_share": ("{value} of matches against bots", EITHER),
}
_ENTRY_POINTS: dict[str, str] = {
    "entry_share_lobby_28d": "from the lobby",
    "entry_share_matchmaking_28d": "from matchmaking",
    "entry_share_invite_28d": "from an invite",
}
_TRENDS: dict[str, tuple[str, str]] = {
    "sessions_trend_7d": ("sessions", "sessions"),
    "matches_trend_7d": ("matches", "matches"),
    "minutes_trend_7d": ("minutes_played", "minutes played"),
}
_RECENCY = ("days_since_last_session", "current_gap_days")
# The features at the resolution of the data (hours, the rhythm of the last sessions, the first
# hours): sentence, the direction that reads as a risk, unit, whether 0 says nothing (no second
# session yet).
_HOURLY: dict[str, tuple[str, int, str, bool]] = {
    "hours_since_last_session": ("last session started {value} hours ago", RISE, " hours", False),
    "tenure_hours": ("playing for {value} hours", FALL, " hours", False),
    "sessions_to_date": ("{value} sessions so far", FALL, "", False),
    "last_session_gap_hours": ("{value} hours between the last two sessions", RISE, " hours", True),
    "recent_session_gap_mean_hours": (
        "{value} hours between recent sessions on average", RISE, " hours", True
    ),
    "session_gap_trend": ("last break {value} times the recent average", RISE, "", True),
    "hours_since_last_session_vs_recent_gap": (
        "away {value} times their recent gap between sessions", RISE, "", True
    ),
    "matches_last_session": ("{value} matches in the last session", FALL, "", False),
    "matches_per_session_recent": ("{value} matches per session lately", FALL, "", False),
    "matches_per_session_to_date": ("{value} matches per session so far", FALL, "", False),
    "matches_per_session_trend": (
        "{value} matches per session lately against their own average", FALL, "", False
    ),
    "sessions_first_1h": ("{value} sessions in the first hour", FALL, "", False),
    "sessions_first_24h": ("{value} sessions in the first 24 hours", FALL, "", False),
    "sessions_first_72h": ("{value} sessions in the first 72 hours", FALL, "", False),
    "matches_first_24h": ("{value} matches in the first 24 hours", FALL, "", False),
    "first_session_matches": ("{value} matches in the first session", FALL, "", False),
    "hours_to_second_session": (
        "came back {value} hours after the first session", RISE, " hours", True
    ),
}  # fmt: skip
_GAPS = {
    "gap_mean_days": "usually {value} days between sessions",
    "gap_max_days": "longest break so far {value} days",
}


@dataclass(frozen=True)
class Reason:
    """One feature's sentence for one player (see `ReasonCatalog.reason`)."""

    feature: str
    value: float  # the value the sentence states
    reference: float | None
    reference_kind: str | None  # USUAL, PEER, POPULATION or None
    text: str
    reads_as_risk: bool
    topic: str  # what the sentence is about: a player hears one reason per topic


# -- numbers as the sentences print them ------------------------------------------------------


def shown(values: np.ndarray) -> np.ndarray:
    """What a sentence prints of a number: one decimal below 10, whole numbers from 10 up."""
    x = np.asarray(values, dtype=np.float64)
    return np.where(np.abs(x) >= 10, np.round(x), np.round(x, 1)) + 0.0  # no "-0"


def shown_percent(values: np.ndarray) -> np.ndarray:
    return np.round(100 * np.asarray(values, dtype=np.float64)) + 0.0


def _text_of(value: float) -> str:
    if not np.isfinite(value):
        return "unknown"
    whole = round(value)
    return str(int(whole)) if value == whole else f"{value:.1f}"


def numbers(values: np.ndarray) -> np.ndarray:
    """Printed numbers (1 -> "1", 2.25 -> "2.2", 99.8 -> "100"); each distinct value once."""
    unique, inverse = np.unique(shown(values), return_inverse=True)
    return np.array([_text_of(v) for v in unique], dtype=object)[inverse.reshape(-1)]


def percents(values: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(shown_percent(values), return_inverse=True)
    texts = [f"{int(v)}%" if np.isfinite(v) else "unknown" for v in unique]
    return np.array(texts, dtype=object)[inverse.reshape(-1)]


def _each(values: np.ndarray, render, *, percent: bool = False) -> np.ndarray:
    """`render(printed value)` for each value, rendered once per distinct printed value (a
    column of reasons repeats the same few numbers), as an object array to concatenate."""
    printed = shown_percent(values) if percent else shown(values)
    unique, inverse = np.unique(printed, return_inverse=True)
    texts = [render(f"{int(v)}%" if percent and np.isfinite(v) else _text_of(v)) for v in unique]
    return np.array(texts, dtype=object)[inverse.reshape(-1)]


def _period(days: int) -> str:
    return "in the last day" if days == 1 else f"in the last {days} days"


# A difference worth a sentence: a tenth of the larger value, or 5 points of a percentage.
MATERIAL_SHARE = 0.10
MATERIAL_POINTS = 5.0


def _reads_as_risk(
    value: np.ndarray, reference: np.ndarray, direction: int, *, points: bool = False
) -> np.ndarray:
    """Whether the printed value differs from the printed reference, materially, in the risky
    direction (`points`: both are printed percentages)."""
    known = ~np.isnan(reference)
    ref = np.where(known, reference, 0.0)
    gap = value - ref
    if points:
        material = np.abs(gap) >= MATERIAL_POINTS
    else:
        material = (gap != 0) & (np.abs(gap) >= MATERIAL_SHARE * np.maximum(abs(value), abs(ref)))
    if direction == EITHER:
        return known & material
    return known & material & (direction * gap > 0)


# What a reason is about: the windows of one count, a count and its trend, a win and a loss
# rate, the two recency features say one thing, and a player hears it once.
_TOPICS = {
    "win_rate": "results",
    "loss_rate": "results",
    "hours_since_last_session": "recency",
    "hours_since_last_session_vs_recent_gap": "recency",
    "tenure_hours": "tenure_days",
}


_TOPIC_IDS: dict[str, int] = {}


def _topic(feature: str) -> int:
    """The topic's number (numbers, not strings, so choosing reasons stays numpy)."""
    base = parse_feature(feature).base
    return _TOPIC_IDS.setdefault(_TOPICS.get(base, base), len(_TOPIC_IDS))


def topic_name(topic: int) -> str:
    return next(name for name, number in _TOPIC_IDS.items() if number == topic)


@dataclass
class _Judged:
    """The reasons one feature would give for some rows, before their sentences."""

    value: np.ndarray
    reference: np.ndarray  # NaN: no reference
    kind: np.ndarray  # _NONE, _USUAL, _PEER, _POPULATION
    risky: np.ndarray
    topic: np.ndarray  # what the sentence is about (`_topic`): one reason per topic


class ReasonCatalog:
    """The reasons of the rows of one feature frame (e.g. a scoring snapshot)."""

    def __init__(
        self,
        features: pd.DataFrame,
        tenure_days: np.ndarray | None = None,
        bands: TenureBands = PEERS,
    ) -> None:
        self.feature_names = list(features.columns)
        self.position = {name: i for i, name in enumerate(self.feature_names)}
        # One contiguous array per feature: reasons read a few features for many rows.
        self.columns = np.ascontiguousarray(features.to_numpy(dtype=np.float64).T)
        if tenure_days is None and TENURE_FEATURE in self.position:
            tenure_days = self.columns[self.position[TENURE_FEATURE]]
        self.tenure = (
            np.zeros(len(features)) if tenure_days is None else np.asarray(tenure_days, float)
        )
        self.bands = bands
        self.band = bands.index(self.tenure)
        self._band_rows = [np.flatnonzero(self.band == b) for b in range(len(bands))]
        self._peer_phrases = np.array([self._peers(b) for b in range(len(bands))], dtype=object)
        self._medians: dict[tuple[str, bool], tuple[np.ndarray, float]] = {}

    @classmethod
    def for_frame(
        cls, features: pd.DataFrame, tenure_days: np.ndarray | None = None
    ) -> ReasonCatalog:
        return cls(features, tenure_days)

    # -- reading the frame ----------------------------------------------------------------------
    def column(self, name: str, rows: np.ndarray) -> np.ndarray | None:
        i = self.position.get(name)
        return None if i is None else self.columns[i][rows]

    def _median_of(self, feature: str, among_nonzero: bool) -> tuple[np.ndarray, float]:
        key = (feature, among_nonzero)
        if key not in self._medians:
            column = self.columns[self.position[feature]]

            def median(rows: np.ndarray) -> float:
                if among_nonzero:
                    rows = rows[column[rows] != 0]
                return float(np.median(column[_spread(rows)])) if rows.size >= MIN_PEERS else np.nan

            per_band = np.array([median(rows) for rows in self._band_rows])
            self._medians[key] = (per_band, median(np.arange(column.size)))
        return self._medians[key]

    def typical(
        self, feature: str, rows: np.ndarray, *, among_nonzero: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The typical player's value at each row's tenure (peers), else the population's;
        `among_nonzero`: of the players who have a value at all (e.g. a break between sessions:
        "typical player: 0 days" would describe players who have not had one)."""
        per_band, population = self._median_of(feature, among_nonzero)
        peers = per_band[self.band[rows]]
        has_peers = ~np.isnan(peers)
        return np.where(has_peers, peers, population), np.where(has_peers, _PEER, _POPULATION)

    def population(self, feature: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        everyone = self._median_of(feature, False)[1]
        return np.full(rows.size, everyone), np.full(rows.size, _POPULATION)

    def typical_text(
        self,
        rows: np.ndarray,
        kind: np.ndarray,
        reference: np.ndarray,
        *,
        percent: bool = False,
        unit: str = "",
    ) -> np.ndarray:
        """ " (typical player on days 3-4: 2)" per row. The typical player's value depends only
        on the band (or is everyone's), so each band's text is written once."""
        band = np.where(kind == _PEER, self.band[rows], np.where(kind == _POPULATION, -1, -2))
        keys, first, inverse = np.unique(band, return_index=True, return_inverse=True)
        show = percents if percent else numbers
        printed = show(reference[first]) if first.size else []
        texts = [
            ""
            if key == -2
            else f" (typical player{'' if key < 0 else self._peer_phrases[key]}: {ref}{unit})"
            for key, ref in zip(keys, printed, strict=True)
        ]
        return np.array(texts, dtype=object)[inverse.reshape(-1)]

    def _peers(self, band: int) -> str:
        first = self.bands.starts[band]
        if band == len(self.bands) - 1:
            return f" from day {first} on"
        label = self.bands.label(band)
        return " on their install day" if label == "install day" else f" on {label}"

    def _prior_days(self, rows: np.ndarray, days: int) -> np.ndarray:
        """Earlier days of the 28-day window that each player actually existed for."""
        lived = np.minimum(LONGEST_WINDOW, self.tenure[rows].astype(np.int64) + 1)
        return lived - days

    # -- judging and writing --------------------------------------------------------------------
    def judge(self, feature: str, rows: np.ndarray) -> _Judged:
        return _family(feature).judge(self, feature, np.asarray(rows, dtype=np.int64))

    def sentences(self, feature: str, rows: np.ndarray, judged: _Judged) -> np.ndarray:
        return _family(feature).text(self, feature, np.asarray(rows, dtype=np.int64), judged)

    def reason(self, row: int, feature: str) -> Reason:
        """One player's sentence for one feature, whether or not it reads as a risk."""
        rows = np.array([row])
        judged = self.judge(feature, rows)
        reference = float(judged.reference[0])
        return Reason(
            feature=feature,
            value=float(judged.value[0]),
            reference=None if np.isnan(reference) else reference,
            reference_kind=_KINDS[int(judged.kind[0])],
            text=self.sentences(feature, rows, judged)[0],
            reads_as_risk=bool(judged.risky[0]),
            topic=topic_name(int(judged.topic[0])),
        )


def _spread(rows: np.ndarray) -> np.ndarray:
    """At most MEDIAN_ROWS of `rows`, evenly spread."""
    return rows if rows.size <= MEDIAN_ROWS else rows[:: -(-rows.size // MEDIAN_ROWS)]


# -- the families of features -----------------------------------------------------------------


def _windowed(c: ReasonCatalog, feature: str, rows: np.ndarray):
    """What every `<base>_<N>d` reason starts from: the name's parts, the window, the values,
    and the typical player's values as the fallback reference."""
    parsed = parse_feature(feature)
    value = c.column(feature, rows)
    assert value is not None
    reference, kind = c.typical(feature, rows)
    return parsed, int(parsed.window_days or LONGEST_WINDOW), value, reference, kind


class _Count:
    """`<count>_<N>d`: "4 rage quits in the last 7 days, usually none"."""

    def judge(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> _Judged:
        parsed, days, value, reference, kind = _windowed(c, feature, rows)
        longest = c.column(windowed_feature(parsed.base, LONGEST_WINDOW), rows)
        if days < LONGEST_WINDOW and longest is not None:
            prior = c._prior_days(rows, days)
            own = prior >= MIN_HISTORY_DAYS
            usual = np.maximum(0.0, longest - value) * days / np.maximum(prior, 1)
            reference = np.where(own, usual, reference)
            kind = np.where(own, _USUAL, kind)
        direction = _COUNTS[parsed.base][2]
        risky = _reads_as_risk(shown(value), shown(reference), direction)
        return _Judged(value, reference, kind, risky, np.full(rows.size, _topic(feature)))

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> np.ndarray:
        parsed = parse_feature(feature)
        singular, plural, _ = _COUNTS[parsed.base]
        period = _period(int(parsed.window_days or LONGEST_WINDOW))
        heads = _each(
            j.value,
            lambda v: f"{'no' if v == '0' else v} {singular if v == '1' else plural} {period}",
        )
        usual = _each(
            j.reference, lambda r: ", usually none" if r == "0" else f", usually about {r}"
        )
        typical = c.typical_text(rows, j.kind, j.reference)
        return heads + np.where(j.kind == _USUAL, usual, typical)


class _Rate:
    """`<rate>_<N>d`: "lost 80% of matches in the last 3 days, usually 42%". Over no matches,
    what the rate says is that the player stopped playing: the sentence is the match count's."""

    def _no_matches(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> np.ndarray:
        parsed = parse_feature(feature)
        matches = c.column(windowed_feature("matches", int(parsed.window_days or 0)), rows)
        return np.zeros(rows.size, bool) if matches is None else matches == 0

    def judge(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> _Judged:
        parsed, days, value, reference, kind = _windowed(c, feature, rows)
        matches = c.column(windowed_feature("matches", days), rows)
        matches_28 = c.column(windowed_feature("matches", LONGEST_WINDOW), rows)
        rate_28 = c.column(windowed_feature(parsed.base, LONGEST_WINDOW), rows)
        if days < LONGEST_WINDOW and matches is not None and matches_28 is not None:
            assert rate_28 is not None
            earlier = matches_28 - matches
            own = earlier > 0
            usual = (rate_28 * matches_28 - value * matches) / np.where(own, earlier, 1)
            reference = np.where(own, np.clip(usual, 0.0, 1.0), reference)
            kind = np.where(own, _USUAL, kind)
        direction = _RATES[parsed.base][1]
        risky = _reads_as_risk(
            shown_percent(value), shown_percent(reference), direction, points=True
        )
        judged = _Judged(value, reference, kind, risky, np.full(rows.size, _topic(feature)))
        none = self._no_matches(c, feature, rows)
        if none.any():
            played = _Count().judge(c, windowed_feature("matches", days), rows[none])
            for name in ("value", "reference", "kind", "risky", "topic"):
                getattr(judged, name)[none] = getattr(played, name)
        return judged

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> list[str]:
        parsed = parse_feature(feature)
        days = int(parsed.window_days or LONGEST_WINDOW)
        phrase = _RATES[parsed.base][0]
        out = np.empty(rows.size, dtype=object)
        none = self._no_matches(c, feature, rows)
        if none.any():
            subset = _Judged(*(getattr(j, n)[none] for n in _Judged.__dataclass_fields__))
            out[none] = _Count().text(c, windowed_feature("matches", days), rows[none], subset)
        some = ~none
        before, after = phrase.split("{value}")
        after = f"{after} {_period(days)}"
        heads = _each(j.value[some], lambda v: f"{before}{v}{after}", percent=True)
        usual = _each(j.reference[some], lambda r: f", usually {r}", percent=True)
        typical = c.typical_text(rows[some], j.kind[some], j.reference[some], percent=True)
        out[some] = heads + np.where(j.kind[some] == _USUAL, usual, typical)
        return out


class _Typical:
    """A value compared with the typical player at the same tenure, in a fixed sentence."""

    def __init__(
        self, template: str, direction: int, *, zero_says_nothing=False, percent=False, unit=""
    ) -> None:
        self.template = template
        self.direction = direction
        self.zero_says_nothing = zero_says_nothing  # e.g. the longest break of a 1-session player
        self.percent = percent
        self.unit = unit

    def reference(self, c: ReasonCatalog, feature: str, rows: np.ndarray):
        return c.typical(feature, rows, among_nonzero=self.zero_says_nothing)

    def judge(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> _Judged:
        value = c.column(feature, rows)
        assert value is not None
        reference, kind = self.reference(c, feature, rows)
        show = shown_percent if self.percent else shown
        risky = _reads_as_risk(show(value), show(reference), self.direction, points=self.percent)
        if self.zero_says_nothing:
            risky &= value != 0
        return _Judged(value, reference, kind, risky, np.full(rows.size, _topic(feature)))

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> np.ndarray:
        template = self.template.replace("{name}", feature.replace("_", " "))
        before, after = template.split("{value}")
        heads = _each(j.value, lambda v: f"{before}{v}{after}", percent=self.percent)
        typical = c.typical_text(rows, j.kind, j.reference, percent=self.percent, unit=self.unit)
        return heads + typical


class _Tenure(_Typical):
    """Tenure, against the whole population (peers share it by definition)."""

    def __init__(self) -> None:
        super().__init__("playing for {value} days", FALL, unit=" days")

    def reference(self, c: ReasonCatalog, feature: str, rows: np.ndarray):
        return c.population(feature, rows)

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> np.ndarray:
        heads = _each(
            j.value,
            lambda v: (
                "installed on the snapshot day"
                if v == "0"
                else f"playing for {v} day{'' if v == '1' else 's'}"
            ),
        )
        return heads + c.typical_text(rows, j.kind, j.reference, unit=self.unit)


class _LossStreak(_Typical):
    def __init__(self) -> None:
        super().__init__("lost the last {value} matches in a row", RISE)

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> np.ndarray:
        heads = _each(
            j.value,
            lambda v: (
                "lost their last match" if v == "1" else f"lost the last {v} matches in a row"
            ),
        )
        return heads + c.typical_text(rows, j.kind, j.reference)


class _Recency:
    """How long the player has been away, against their usual gap between sessions."""

    def judge(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> _Judged:
        value = c.column(feature, rows)
        assert value is not None
        reference, kind = c.typical(feature, rows)
        usual_gap = c.column("gap_mean_days", rows)
        if usual_gap is not None:
            own = usual_gap > 0
            reference = np.where(own, usual_gap, reference)
            kind = np.where(own, _USUAL, kind)
        risky = _reads_as_risk(shown(value), shown(reference), RISE)
        return _Judged(value, reference, kind, risky, np.full(rows.size, _topic("recency")))

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> np.ndarray:
        if feature == "days_since_last_session":
            heads = _each(
                j.value,
                lambda v: (
                    "played on the snapshot day"
                    if v == "0"
                    else f"last session {v} day{'' if v == '1' else 's'} ago"
                ),
            )
        else:
            # Under two days away, in hours (the resolution of the data), else in days.
            hours = np.round(j.value * 24)
            in_hours = _each(hours, lambda h: f"away for {h} hour{'' if h == '1' else 's'}")
            in_days = _each(j.value, lambda v: f"away for {v} days")
            heads = np.where(j.value < 2, in_hours, in_days)
        usual = _each(
            j.reference,
            lambda r: f", usually one session every {r} day{'' if r == '1' else 's'}",
        )
        typical = c.typical_text(rows, j.kind, j.reference, unit=" days")
        return heads + np.where(j.kind == _USUAL, usual, typical)


class _GapVsUsual:
    def judge(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> _Judged:
        value = c.column(feature, rows)
        assert value is not None
        reference = np.ones(rows.size)
        risky = _reads_as_risk(shown(value), reference, RISE)
        kind = np.full(rows.size, _USUAL)
        return _Judged(value, reference, kind, risky, np.full(rows.size, _topic("recency")))

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> np.ndarray:
        return _each(
            j.value, lambda v: f"current break is {v} times their usual gap between sessions"
        )


class _Trend:
    """ "2 sessions in the last 7 days, down from 6 the week before"."""

    def judge(self, c: ReasonCatalog, feature: str, rows: np.ndarray) -> _Judged:
        base, _ = _TRENDS[feature]
        last_week = c.column(windowed_feature(base, 7), rows)
        two_weeks = c.column(windowed_feature(base, 14), rows)
        if last_week is None or two_weeks is None:
            trend = c.column(feature, rows)
            assert trend is not None
            last_week, before = trend, np.zeros(rows.size)
        else:
            before = two_weeks - last_week
        risky = _reads_as_risk(shown(last_week), shown(before), FALL)
        kind = np.full(rows.size, _USUAL)
        return _Judged(last_week, before, kind, risky, np.full(rows.size, _topic(base)))

    def text(self, c: ReasonCatalog, feature: str, rows: np.ndarray, j: _Judged) -> list[str]:
        _, noun = _TRENDS[feature]
        return [
            f"{value} {noun} in the last 7 days, "
            f"{'down from' if v < r else 'up from' if v > r else 'same as'} {ref} the week before"
            for value, ref, v, r in zip(
                numbers(j.value), numbers(j.reference), j.value, j.reference, strict=True
            )
        ]


_FAMILIES: dict[str, object] = {
    **{name: _Recency() for name in _RECENCY},
    "current_gap_vs_usual": _GapVsUsual(),
    **{
        name: _Typical(template, RISE, zero_says_nothing=True, unit=" days")
        for name, template in _GAPS.items()
    },
    **{name: _Trend() for name in _TRENDS},
    **{
        name: _Typical(template, rising, zero_says_nothing=zero, unit=unit)
        for name, (template, rising, unit, zero) in _HOURLY.items()
    },
    TENURE_FEATURE: _Tenure(),
    "current_loss_streak": _LossStreak(),
    **{
        name: _Typical(
            f"{{value}} of sessions started {where} in the last 28 days", EITHER, percent=True
        )
        for name, where in _ENTRY_POINTS.items()
    },
}
_GENERIC = _Typical("{name} is {value}", EITHER)


class _MaxLossStreak(_Typical):
    def __init__(self, days: int) -> None:
        super().__init__(f"longest losing streak of {{value}} {_period(days)}", RISE)


def _family(feature: str):
    if feature in _FAMILIES:
        return _FAMILIES[feature]
    parsed = parse_feature(feature)
    if parsed.window_days is not None:
        if parsed.base in _COUNTS:
            return _Count()
        if parsed.base in _RATES:
            return _Rate()
        if parsed.base == "max_loss_streak":
            return _MaxLossStreak(parsed.window_days)
    return _GENERIC


def direction(feature: str) -> int:
    """RISE when a higher value reads as a risk, FALL when a lower one does, EITHER when the
    feature's meaning has no direction (its sentences are neutral)."""
    family = _family(feature)
    if isinstance(family, _Count):
        return _COUNTS[parse_feature(feature).base][2]
    if isinstance(family, _Rate):
        return _RATES[parse_feature(feature).base][1]
    if isinstance(family, _Trend):
        return FALL
    if isinstance(family, _Recency | _GapVsUsual):
        return RISE
    return family.direction


# -- choosing each player's reasons -----------------------------------------------------------


def render_reasons(
    catalog: ReasonCatalog,
    contribs: np.ndarray,
    k: int = REASONS_PER_PLAYER,
    candidates: int = CANDIDATES_PER_PLAYER,
) -> pd.DataFrame:
    """Up to `k` reasons per row of `contribs` ((rows, features + 1), the catalog's columns then
    the bias): the largest positive contributions whose sentence reads as a risk, one per topic,
    strongest first. One frame row per (row, reason rank)."""
    top = top_positive(contribs, candidates)
    rows, slots = np.nonzero(top.index >= 0)
    features = top.index[rows, slots]
    n = rows.size
    value, reference = np.empty(n), np.empty(n)
    kind, risky = np.empty(n, dtype=np.int64), np.zeros(n, dtype=bool)
    topic = np.empty(n, dtype=np.int64)
    groups = _groups(features)
    for feature, entries in groups:
        judged = catalog.judge(catalog.feature_names[feature], rows[entries])
        value[entries], reference[entries] = judged.value, judged.reference
        kind[entries], risky[entries], topic[entries] = judged.kind, judged.risky, judged.topic

    # One pass per candidate slot: keep a risky reason of a topic the row has not used yet.
    shape = top.index.shape
    entry_at = np.full(shape, -1)
    entry_at[rows, slots] = np.arange(n)
    topic_at = np.full(shape, -2)
    topic_at[rows, slots] = topic
    risky_at = np.zeros(shape, dtype=bool)
    risky_at[rows, slots] = risky
    kept = np.zeros(shape, dtype=bool)
    used = np.full((shape[0], k), -1)
    count = np.zeros(shape[0], dtype=np.int64)
    for slot in range(shape[1]):
        this_topic = topic_at[:, slot]
        take = risky_at[:, slot] & (count < k) & (used != this_topic[:, None]).all(axis=1)
        kept[:, slot] = take
        used[take, count[take]] = this_topic[take]
        count += take

    kept_rows, kept_slots = np.nonzero(kept)  # by row, then by slot: the reason rank order
    chosen = entry_at[kept_rows, kept_slots]
    first_of_row = np.searchsorted(kept_rows, kept_rows, side="left")
    text = np.empty(chosen.size, dtype=object)
    for feature, members in _groups(features[chosen]):
        picked = chosen[members]
        judged = _Judged(
            value[picked], reference[picked], kind[picked], risky[picked], topic[picked]
        )
        text[members] = catalog.sentences(catalog.feature_names[feature], rows[picked], judged)
    return pd.DataFrame(
        {
            "row": kept_rows.astype(np.int64),
            "reason_rank": (np.arange(chosen.size) - first_of_row + 1).astype(np.int32),
            "feature": pd.Categorical.from_codes(features[chosen], catalog.feature_names),
            "feature_value": value[chosen],
            "reference_value": reference[chosen],
            "reference_kind": pd.Categorical.from_codes(kind[chosen] - 1, list(_KINDS[1:])),
            "contribution": top.value[kept_rows, kept_slots],
            "reason": text,
        }
    )


def _groups(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(key, positions of that key) for each distinct key, the positions in ascending order."""
    if keys.size == 0:
        return []
    # (feature positions are small numbers: a 16-bit stable sort is a radix sort)
    small = keys.size and keys.min() >= 0 and keys.max() < 2**15
    order = np.argsort(keys.astype(np.int16) if small else keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], keys.size]
    return [(int(sorted_keys[s]), order[s:e]) for s, e in zip(starts, ends, strict=True)]
