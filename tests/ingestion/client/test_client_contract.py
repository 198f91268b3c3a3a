"""The browser client's rules are generated from ingestion/contract.py, never edited by hand.
(No browser needed: these run everywhere.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingestion import client_contract
from ingestion.contract import BASE_FIELDS, EVENT_TYPES, MAX_EVENT_BYTES, Code


def test_committed_client_contract_matches_the_python_contract() -> None:
    assert client_contract.CONTRACT_JS.read_text() == client_contract.render_module(), (
        "ingestion/client/contract.js is stale: run `python -m ingestion.client_contract`"
    )


def test_client_contract_carries_every_rule_in_check_order() -> None:
    text = client_contract.render_module()
    match = re.search(r"export const CONTRACT = (\{.*\});", text, re.S)
    assert match is not None
    data = json.loads(match.group(1))
    assert [f["name"] for f in data["base_fields"]] == [f.name for f in BASE_FIELDS]
    assert {n: [f["name"] for f in e["fields"]] for n, e in data["event_types"].items()} == {
        n: [f.name for f in e.fields] for n, e in EVENT_TYPES.items()
    }
    assert set(data["codes"].values()) == {str(c) for c in Code}
    assert data["max_event_bytes"] == MAX_EVENT_BYTES


def test_check_mode_fails_on_a_stale_file_and_regeneration_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "contract.js"
    target.write_text("export const CONTRACT = {};\n")
    monkeypatch.setattr(client_contract, "CONTRACT_JS", target)
    assert client_contract.main(["--check"]) == 1
    assert client_contract.main([]) == 0
    assert client_contract.main(["--check"]) == 0
    assert target.read_text() == client_contract.render_module()
