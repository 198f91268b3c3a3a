"""The exports folder as a Dagster resource (`$RESPAWN_HOME/exports` of the code location)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class ExportsResource(dg.ConfigurableResource):
    """Where the game team's exports are written: `<root>/<scoring date>/`, `<root>/latest`."""

    root: str = Field(description="Exports root: <root>/<scoring date>/ and <root>/latest")

    @property
    def path(self) -> Path:
        return Path(self.root)
