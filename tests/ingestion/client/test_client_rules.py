"""The browser client refuses, before queueing, exactly what the server would refuse, with the
same code; its queue is bounded; it backs off when it cannot connect. No server needed."""

from __future__ import annotations

import random
import uuid
from typing import Any

import orjson
import pytest

from ingestion.contract import (
    BASE_FIELDS,
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    FieldSpec,
    validate_event,
)
from tests.ingestion.client.harness import client_options, js, open_harness
from tests.support.cdp import Page
from tests.support.ingestor import free_port

pytestmark = pytest.mark.browser

TIMESTAMPS = [
    "2026-01-30T18:12:45Z",
    "2026-01-30T18:12:45.1Z",
    "2026-01-30T18:12:45.123456789Z",
    "2026-01-30T18:12:45.1234567891Z",
    "2026-01-30T18:12:45.Z",
    "2026-01-30T18:12:45",
    "2026-01-30 18:12:45Z",
    "2026-01-30t18:12:45Z",
    "2026-01-30T18:12:45z",
    "2026-01-30T24:00:00Z",
    "2026-01-30T23:60:00Z",
    "2026-01-30T18:12:60Z",
    "2026-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-01-30T18:12:45+05:30",
    "2026-01-30T18:12:45-00:00",
    "2026-01-30T18:12:45+23:59",
    "2026-01-30T18:12:45+24:00",
    "2026-01-30T18:12:45+05:60",
    "2026-01-30T18:12:45+00:99",
    "2026-01-30T18:12:45+23:60",
    "2026-01-30T18:12:45-23:60",
    "2026-01-30T18:12:45+0530",
    "\uff12026-01-30T18:12:45Z",  # fullwidth 2: matches \d in Python, not datetime
    " 2026-01-30T18:12:45Z",
    "2026-01-30T18:12:45Z\n",
    "",
]
UUIDS = [
    str(uuid.uuid4()).upper(),
    uuid.uuid4().hex,
    "{" + str(uuid.uuid4()) + "}",
    str(uuid.uuid4())[:-1] + "g",
    str(uuid.uuid4()) + "\n",
    "urn:uuid:" + str(uuid.uuid4()),
    "",
]
NOT_JSON_SCALARS: list[Any] = [None, [], {}, [1], 1.5]


def valid_value(spec: FieldSpec) -> Any:
    return {
        "boolean": False,
        "integer": spec.minimum,
        "uuid": str(uuid.uuid4()),
        "timestamp": "2026-01-30T18:12:45Z",
    }.get(spec.kind, spec.values[0] if spec.values else "1.0.0")


def variants(spec: FieldSpec) -> list[Any]:
    """Values at and around the edges of one field's rule, plus the wrong JSON types."""
    out: list[Any] = [*NOT_JSON_SCALARS, True, 0, "0"]
    if spec.kind == "integer":
        top = spec.maximum if spec.maximum is not None else 10**9
        out += [spec.minimum - 1, spec.minimum, top, top + 1, 2**53, -(2**53), 2**63 - 1, "5", 2.5]
    if spec.kind in ("string", "uuid", "timestamp", "enum", "const"):
        n = spec.max_length
        out += ["", "x" * n, "x" * (n + 1), "🎮" * n, "🎮" * (n + 1), 5]
    if spec.kind == "uuid":
        out += UUIDS
    if spec.kind == "timestamp":
        out += TIMESTAMPS
    if spec.kind in ("enum", "const"):
        out += list(spec.values) + [v.upper() for v in spec.values] + [f" {spec.values[0]}"]
    return out


def valid_event(name: str) -> dict[str, Any]:
    specs = BASE_FIELDS + EVENT_TYPES[name].fields
    event = {s.name: valid_value(s) for s in specs}
    event |= {"event_name": name, "event_version": "v1", "platform": "web"}
    return event


def corpus(seed: int = 8) -> list[Any]:
    """Valid events, each field broken every way we know, then random multi-field breakage."""
    rng = random.Random(seed)
    cases: list[Any] = [None, [], "event", 5, True, [valid_event("session_start")]]
    for name, etype in EVENT_TYPES.items():
        base = valid_event(name)
        cases += [base, base | {"extra": {"kept": True}}, base | {"event_version": "v2"}]
        cases += [base | {"event_name": "level_up"}, base | {"event_name": "level_up", "x": None}]
        for spec in BASE_FIELDS + etype.fields:
            cases.append({k: v for k, v in base.items() if k != spec.name})
            cases += [base | {spec.name: value} for value in variants(spec)]
        padding = MAX_EVENT_BYTES - len(orjson.dumps(base | {"pad": ""}))
        cases += [base | {"pad": "p" * padding}, base | {"pad": "p" * (padding + 1)}]
        cases.append(base | {"pad": "p" * MAX_EVENT_BYTES, "event_id": "nope"})
        specs = BASE_FIELDS + etype.fields
        for _ in range(150):
            event = dict(base)
            for spec in rng.sample(specs, rng.randint(1, 3)):
                if rng.random() < 0.2:
                    event.pop(spec.name, None)
                else:
                    event[spec.name] = rng.choice(variants(spec))
            cases.append(event)
    return cases


def python_verdict(event: Any) -> list[Any]:
    v = validate_event(event)
    failure = v.failure
    return [v.status, failure and str(failure.code), failure and failure.field]


def test_client_checks_events_with_the_same_rules_and_codes_as_the_server(
    page: Page, site: str
) -> None:
    open_harness(page, site)
    cases = corpus()
    got = page.evaluate(
        f"""JSON.parse({js(orjson.dumps(cases).decode())}).map((e) => {{
            const v = respawn.validateEvent(e);
            return [v.status, v.failure?.code ?? null, v.failure?.field ?? null];
        }})""",
        timeout=30,
    )
    expected = [python_verdict(e) for e in cases]
    mismatches = [
        (repr(case)[:300], want, have)
        for case, want, have in zip(cases, expected, got, strict=True)
        if want != have
    ]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, e.g. {mismatches[:3]}"
    statuses = {v[0] for v in expected}
    assert statuses == {"valid", "unknown", "rejected"}, "the corpus must exercise every verdict"


def test_event_methods_throw_the_servers_code_and_queue_nothing(page: Page, site: str) -> None:
    open_harness(page, site)
    options = client_options(f"ws://127.0.0.1:{free_port()}/", autoConnect=False)
    result = page.evaluate(
        f"""(() => {{
        makeClient({js(options)});
        const caught = (fn) => {{
            try {{ fn(); return "no error"; }}
            catch (e) {{ return [e.name, e.code ?? null, e.field ?? null]; }}
        }};
        return {{
            beforeSession: caught(() => client.matchPlayed(
                {{ matchDurationSec: 30, result: "win", opponentType: "bot" }})),
            badBoolean: caught(() => client.sessionStart(
                {{ isNewUser: "yes", entryPoint: "lobby" }})),
            sessionAfterRefusal: client.sessionId,
            start: client.sessionStart({{ isNewUser: true, entryPoint: "invite" }}),
            badEnum: caught(() => client.matchPlayed(
                {{ matchDurationSec: 30, result: "draw", opponentType: "bot" }})),
            longMatch: caught(() => client.matchPlayed(
                {{ matchDurationSec: 86401, result: "win", opponentType: "bot" }})),
            missing: caught(() => client.matchPlayed({{ matchDurationSec: 30, result: "win" }})),
            notInteger: caught(() => client.disconnect(
                {{ disconnectReason: "quit", timeSinceSessionStartSec: 1.5 }})),
            typo: caught(() => client.matchPlayed({{ duration: 30 }})),
            badUser: caught(() => new respawn.RespawnClient({{ ...{js(options)}, userId: "bob" }})),
            pending: client.pendingCount,
        }};
        }})()"""
    )
    assert result["beforeSession"] == ["RespawnValidationError", "missing_field", "session_id"]
    assert result["badBoolean"] == ["RespawnValidationError", "wrong_type", "is_new_user"]
    assert result["sessionAfterRefusal"] is None, "a refused sessionStart must not start a session"
    assert result["badEnum"] == ["RespawnValidationError", "invalid_value", "result"]
    assert result["longMatch"] == ["RespawnValidationError", "out_of_range", "match_duration_sec"]
    assert result["missing"] == ["RespawnValidationError", "missing_field", "opponent_type"]
    assert result["notInteger"] == [
        "RespawnValidationError",
        "wrong_type",
        "time_since_session_start_sec",
    ]
    assert result["typo"][0] == "TypeError"
    assert result["badUser"] == ["RespawnValidationError", "invalid_uuid", "user_id"]
    assert result["pending"] == 1, "only the valid session_start is queued"
    start = result["start"]
    assert validate_event(start).status == "valid"
    assert start["user_id"] == options["userId"] and start["client_version"] == "1.4.2"
    assert (start["event_version"], start["platform"]) == ("v1", "web")


def test_offline_queue_is_bounded_and_reports_the_oldest_it_drops(page: Page, site: str) -> None:
    open_harness(page, site)
    options = client_options(
        f"ws://127.0.0.1:{free_port()}/", autoConnect=False, maxQueuedEvents=5, batchSize=2
    )
    result = page.evaluate(
        f"""(async () => {{
        makeClient({js(options)});
        const ids = [client.sessionStart({{ isNewUser: false, entryPoint: "lobby" }}).event_id];
        const m = () => client.matchPlayed(
            {{ matchDurationSec: 60, result: "loss", opponentType: "human" }});
        for (let i = 0; i < 4; i += 1) ids.push(m().event_id);
        const droppedAtBound = log.dropped.length;
        for (let i = 0; i < 3; i += 1) ids.push(m().event_id);
        await null;  // the queue is written at the end of the task that changed it
        return {{ ids, droppedAtBound, dropped: log.dropped, pending: client.pendingCount,
                  stored: storedEvents() }};
        }})()"""
    )
    ids = result["ids"]
    assert result["droppedAtBound"] == 0, "nothing is dropped until the bound is passed"
    assert [d["reason"] for d in result["dropped"]] == ["queue_full"] * 3
    assert [i for d in result["dropped"] for i in d["event_ids"]] == ids[:3]
    assert sorted(result["stored"]) == sorted(ids[3:]) and result["pending"] == 5


def test_reconnect_backs_off_exponentially_with_jitter(page: Page, site: str) -> None:
    open_harness(page, site)
    bounds = page.evaluate(
        """[0, 1, 2, 3, 4, 5, 10, 40].map((a) => [
            respawn.backoffDelay(a, { initialMs: 100, maxMs: 1600 }, () => 0),
            respawn.backoffDelay(a, { initialMs: 100, maxMs: 1600 }, () => 0.999999),
        ])"""
    )
    ceilings = [100, 200, 400, 800, 1600, 1600, 1600, 1600]
    for (low, high), ceiling in zip(bounds, ceilings, strict=True):
        assert low == ceiling / 2 and ceiling / 2 < high <= ceiling
    # nothing listens on this port: the real client retries with growing, jittered delays
    options = client_options(
        f"ws://127.0.0.1:{free_port()}/", backoff={"initialMs": 50, "maxMs": 400}
    )
    page.evaluate(f"makeClient({js(options)})")
    delays = page.wait_for(
        """(() => { const d = log.status.filter((s) => s.retryInMs !== undefined)
                                         .map((s) => s.retryInMs);
                   return d.length >= 5 ? d : null; })()""",
        timeout=10,
    )
    page.evaluate("client.close()")
    for attempt, delay in enumerate(delays[:5]):
        ceiling = min(400, 50 * 2**attempt)
        assert ceiling / 2 - 1 <= delay <= ceiling + 1, (attempt, delays)
    assert len(set(delays)) > 1
