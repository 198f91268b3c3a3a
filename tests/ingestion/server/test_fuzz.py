"""Random and hostile frames against a live server (hypothesis): every frame gets exactly one
reply, the server keeps answering, and every event it acknowledged is in a published shard."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.landing.layout import Stream, inflight_shards
from tests.ingestion.helpers import event, open_client, shard_lines
from tests.ingestion.test_contract import json_values, mutated_events
from tests.support.ingestor import Ingestor

keys = st.one_of(
    st.sampled_from(["events", "event_name", "batch_id", "sent_at", "event_id", ""]), st.text()
)
any_json = st.recursive(
    json_values,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
envelopes = st.fixed_dictionaries(
    {"events": st.lists(st.one_of(mutated_events(), any_json), max_size=6)},
    optional={
        "batch_id": st.one_of(st.text(max_size=140), st.integers(), st.none()),
        "sent_at": st.one_of(
            st.sampled_from(["2026-01-30T18:12:45Z", "2026-01-30T18:12:45.5+01:00", "soon"]),
            st.none(),
            st.integers(),
        ),
        "extra": any_json,
    },
)
HOSTILE = [
    "",
    " ",
    "{",
    "}",
    "[" * 5000 + "]" * 5000,  # deeper than any parser allows
    '{"a":' * 300 + "1" + "}" * 300,  # parses, cannot be re-encoded
    '{"events": [' + "[" * 300 + "1" + "]" * 300 + "]}",
    '{"event_name": "\\ud800"}',  # a lone surrogate
    '{"n": 1e999}',
    '{"n": NaN}',
    "\x00\x01\x02",
    '{"events": null}',
    '{"events": [], "events": [1]}',
    '{"event_name": "match_played", "event_name": 5}',
    "[" + ",".join(["{}"] * 501) + "]",
    '{"events":[' + ",".join(["{}"] * 501) + "]}",
    "\ufeff{}",
]


def as_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return "[]"


frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    st.sampled_from(HOSTILE),
    any_json.map(as_text),
    mutated_events().map(as_text),
    envelopes.map(as_text),
)


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def frame_events(frame: str | bytes) -> list[Any]:
    """The events of an acknowledged frame, as this client reads it."""
    obj = orjson.loads(frame)
    return obj["events"] if "events" in obj and "event_name" not in obj else [obj]


def test_hostile_frames_are_answered_one_by_one_and_nothing_acknowledged_is_lost(
    server: Ingestor,
) -> None:
    client = open_client(server.url)
    acknowledged: Counter[bytes] = Counter()
    answered = 0

    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=False,
    )
    @given(st.lists(frames, min_size=1, max_size=4))
    def exchange(batch_of_frames: list[str | bytes]) -> None:
        nonlocal answered
        replies = client.pipeline(batch_of_frames)
        for frame, reply in zip(batch_of_frames, replies, strict=True):
            assert reply["type"] in ("ack", "error"), reply
            answered += 1
            if reply["type"] == "error":
                assert reply["code"] and reply["message"]
                continue
            events = frame_events(frame)
            refused = {r["index"] for r in reply["rejected"]}
            assert reply["accepted"] + len(refused) == len(events)
            acknowledged.update(canonical(e) for i, e in enumerate(events) if i not in refused)

    exchange()
    assert answered >= 250
    assert acknowledged, "the fuzz is meant to send some valid events too"
    # Still serving, on the same connection and on a new one.
    assert client.call(event())["accepted"] == 1
    client.close()
    fresh = open_client(server.url)
    assert fresh.call(event())["accepted"] == 1
    fresh.close()
    assert server.healthz() == 200
    assert server.stop() == 0
    landed = Counter(
        canonical(line["event"])
        for line in shard_lines(server.landing_root, Stream.EVENTS, inflight=False)
    )
    missing = acknowledged - landed
    assert not missing, f"{sum(missing.values())} acknowledged events are not in a shard"
    assert inflight_shards(Path(server.landing_root)) == []
