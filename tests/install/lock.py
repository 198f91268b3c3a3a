"""The lock (constraints.txt) and what an environment installed from it holds."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "constraints.txt"
PROJECT = "respawn"
# The installers themselves: in the venv, never a dependency of the product.
INSTALLER_TOOLS = frozenset({"pip", "setuptools", "wheel", "uv"})


class NotInstalled(Exception):
    """A requirement of the closure has no installed distribution here."""


def pins() -> dict[str, str]:
    """constraints.txt as {canonical name: version}."""
    locked: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            locked[canonicalize_name(name)] = version.strip()
    return locked


def installed() -> dict[str, str]:
    """Every distribution of this environment as {canonical name: version}."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def closure(extras: set[str]) -> set[str]:
    """Canonical names of everything respawn[extras] needs, from the installed metadata (the
    markers evaluated for this platform), respawn excluded."""
    needed: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, set[str]]] = [(PROJECT, extras)]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        new = {e for e in wanted | {""} if (key, e) not in seen}
        if not new:
            continue
        seen.update((key, e) for e in new)
        needed.add(key)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError as missing:
            raise NotInstalled(name) from missing
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in new):
                todo.append((req.name, set(req.extras)))
    return needed - {PROJECT}
