"""The one `Definitions` of the respawn code location (loaded by workspace.yaml)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg

from orchestration import assets as assets_package
from orchestration.checks import event_id_unique, landing_freshness
from orchestration.jobs import load_landed_events, nightly
from orchestration.resources import build_resources
from orchestration.schedules import nightly_schedule
from orchestration.sensors import landed_shards_sensor


def asset_modules() -> list[ModuleType]:
    """Every module of `orchestration.assets`, so that a new one (ML) joins without an edit."""
    return [
        importlib.import_module(f"{assets_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(assets_package.__path__)
    ]


def _exported(modules: list[ModuleType], name: str) -> list[Any]:
    """What asset modules export under `name` (JOBS, SCHEDULES, SENSORS), in module order."""
    return [item for module in modules for item in getattr(module, name, ())]


def build_definitions(home: Path | None = None) -> dg.Definitions:
    """The code location for the data under `home` (default `$RESPAWN_HOME`)."""
    modules = asset_modules()
    return dg.Definitions(
        assets=dg.load_assets_from_modules(modules),
        asset_checks=[
            *dg.load_asset_checks_from_modules(modules),
            event_id_unique,
            landing_freshness,
        ],
        jobs=[
            load_landed_events,
            nightly,
            *_exported(modules, "JOBS"),
        ],
        schedules=[nightly_schedule, *_exported(modules, "SCHEDULES")],
        sensors=[landed_shards_sensor, *_exported(modules, "SENSORS")],
        resources=build_resources(home),
        # One process per run, its steps one after another: a run never races itself for the
        # DuckDB file lock, and concurrent runs (backfills, the sensor, the schedule, "Materialize
        # all") take turns through the warehouse pool. Nothing is lost: the machine has 2 cores
        # and the warehouse one writer.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
