"""Helpers shared by the browser tests: open the harness page, read what the ingestor landed."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.lines import read_lines
from ingestion.landing.recovery import recover_inflight
from tests.support.cdp import Page
from tests.support.ingestor import Ingestor

CLIENT_VERSION = "1.4.2"


def client_options(url: str, **overrides: Any) -> dict[str, Any]:
    """Options of a test client: a fresh user, short timers so that tests stay fast."""
    return {
        "url": url,
        "userId": str(uuid.uuid4()),
        "clientVersion": CLIENT_VERSION,
        "batchSize": 5,
        "batchMaxAgeMs": 100,
        "backoff": {"initialMs": 100, "maxMs": 800},
        **overrides,
    }


def open_harness(page: Page, site: str, options: dict[str, Any] | None = None) -> None:
    """Load the harness page; with `options`, it creates `window.client` on every load."""
    query = f"?options={quote(json.dumps(options))}" if options is not None else ""
    page.navigate(f"{site}/harness.html{query}")
    page.wait_for("window.harnessReady === true", timeout=10)


def js(value: Any) -> str:
    """A Python value as a JS expression."""
    return json.dumps(value)


def landed(ingestor: Ingestor, stream: str = Stream.EVENTS) -> list[dict[str, Any]]:
    """Every line the ingestor landed in `stream`. Stops it first, so that every shard is
    published (and recovers the in-flight shards a killed process left, as a restart would)."""
    ingestor.stop()
    recover_inflight(ingestor.landing_root)
    return [
        line
        for shard in published_shards(ingestor.landing_root, stream)  # type: ignore[arg-type]
        for line in read_lines(shard)
    ]


def landed_ids(ingestor: Ingestor) -> list[str]:
    return [line["event"]["event_id"] for line in landed(ingestor)]


def deadlettered(ingestor: Ingestor) -> list[dict[str, Any]]:
    return landed(ingestor, Stream.DEADLETTER)
