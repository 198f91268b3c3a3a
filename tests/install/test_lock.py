"""constraints.txt is the lock of both installers (uv, and pip as the fallback): an environment
built from it holds exactly its versions, the lock holds nothing the extras do not need, the
demo's install leaves the heavy backends out, and plain pip resolves the demo's set from it to
the same versions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.install.lock import (
    INSTALLER_TOOLS,
    PROJECT,
    REPO,
    NotInstalled,
    closure,
    installed,
    pins,
)

HEAVY_BACKENDS = {"pyspark", "dbt-spark", "dagster-postgres", "psycopg2-binary", "s3fs"}


def needed_by(*extras: str) -> set[str]:
    """What respawn[extras] needs, or a skip where those extras are not installed."""
    try:
        return closure(set(extras))
    except NotInstalled as missing:
        pytest.skip(f"respawn[{','.join(extras)}] is not installed here ({missing} is missing)")


def test_every_installed_distribution_is_locked_at_its_installed_version() -> None:
    locked = pins()
    unlocked = {
        name: version
        for name, version in installed().items()
        if name not in INSTALLER_TOOLS | {PROJECT} and locked.get(name) != version
    }
    assert not unlocked, (
        f"installed but not at a version of constraints.txt: {unlocked}; pin them with "
        "`uv pip compile pyproject.toml --extra test -c constraints.txt`"
    )


def test_the_lock_holds_exactly_what_the_test_extras_need() -> None:
    needed, locked = needed_by("test"), set(pins())
    assert not needed - locked, f"needed but not locked: {sorted(needed - locked)}"
    assert not locked - needed, f"locked but needed by no extra: {sorted(locked - needed)}"


def test_the_demo_install_leaves_spark_postgres_and_s3_out() -> None:
    assert not HEAVY_BACKENDS & needed_by("dev")
    assert needed_by("test") >= HEAVY_BACKENDS


def test_the_test_install_has_s3fs_without_boto3() -> None:
    # Together they send pip's resolver backtracking for many minutes (botocore pins).
    assert "s3fs" in needed_by("test")
    assert "boto3" not in needed_by("test")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_pip_fallback_resolves_the_demo_install_to_the_locked_versions(
    tmp_path: Path,
) -> None:
    """`make install INSTALLER=pip` into a throwaway venv, resolving only (pip's --dry-run)."""
    report = tmp_path / "pip-report.json"
    make = [
        "make",
        "--no-print-directory",
        "install",
        "INSTALLER=pip",
        f"VENV={tmp_path / 'venv'}",
        f"PIP_FLAGS=--dry-run --report {report}",
    ]
    result = subprocess.run(make, cwd=REPO, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "respawn[dev] at the pins of constraints.txt, with pip" in result.stdout
    resolved = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert resolved.pop(PROJECT) == "0.1.0"
    locked = pins()
    assert resolved == {name: locked[name] for name in needed_by("dev")}
