"""The dependency rule: `ingestion/` and `ml/` never import `orchestration/`, the application on
top of them, neither by an import statement (import-linter's contracts in pyproject.toml) nor by
a module name in a string (importlib, `__import__`, `python -m ...`), which import-linter does
not see. Inside an ingestion package, no two modules import each other."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("ingestion", "ml", "orchestration")
LIBRARIES = ("ingestion", "ml")  # may not reach orchestration in any way


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages and the contracts under `root` (it reads the current
    directory's pyproject.toml and finds the packages there first)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy_of_the_repo(tmp_path: Path) -> Path:
    """The packages and pyproject.toml (with the contracts), copied where they may be broken."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_check_passes_on_an_unchanged_copy(copy_of_the_repo: Path) -> None:
    result = lint_imports(copy_of_the_repo)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "reported"),
    [
        # directly
        (
            "ingestion/landing/lines.py",
            "from orchestration import cli",
            "ingestion.landing.lines -> orchestration.cli",
        ),
        ("ml/__init__.py", "import orchestration.resources", "ml -> orchestration.resources"),
        # ingestion and ml are independent libraries
        ("ingestion/settings.py", "import ml.split", "ingestion.settings -> ml.split"),
        # a circle inside a package: the session needs nothing of the app that serves it
        (
            "ingestion/server/session.py",
            "from ingestion.server.app import IngestServer",
            ".session -> .app",
        ),
    ],
)
def test_a_forbidden_import_breaks_the_check(
    copy_of_the_repo: Path, module: str, line: str, reported: str
) -> None:
    add_line(copy_of_the_repo / module, line)
    result = lint_imports(copy_of_the_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and reported in result.stdout, result.stdout


# -- module names in strings ------------------------------------------------------------------

_NAMES_ORCHESTRATION = re.compile(r"orchestration(\.|$)")


def orchestration_names(source: str) -> list[int]:
    """Lines of `source` where a string (not a docstring) names an orchestration module: what
    `importlib.import_module`, `__import__` or a `python -m` command line would load."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _NAMES_ORCHESTRATION.match(node.value.strip())
    )


@pytest.mark.parametrize(
    "source",
    [
        'import importlib\nimportlib.import_module("orchestration.demo.command")\n',
        'from importlib import import_module\nm = import_module("orchestration")\n',
        'm = __import__("orchestration.cli", fromlist=["main"])\n',
        'COMMANDS = (\n    "ingestion.server.command",\n    "orchestration.demo.command",\n)\n',
        'import sys\nargv = [sys.executable, "-m", "orchestration.cli", "demo"]\n',
        'def load(name):\n    return __import__(f"orchestration.{name}")\n',
    ],
)
def test_the_scan_finds_a_module_name_of_orchestration_in_a_string(source: str) -> None:
    assert orchestration_names(source) != []


def test_the_scan_ignores_docstrings_and_other_strings() -> None:
    source = (
        '"""Loaded by orchestration.assets; see orchestration/definitions.py."""\n'
        "def f():\n"
        '    """orchestration.cli calls this."""\n'
        '    return "ingestion.server.command", "the orchestration layer"\n'
    )
    assert orchestration_names(source) == []


@pytest.mark.parametrize("package", LIBRARIES)
def test_no_library_module_names_orchestration_in_a_string(package: str) -> None:
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted((REPO / package).rglob("*.py"))
        if (lines := orchestration_names(path.read_text()))
    }
    assert found == {}, f"{package}/ may not load orchestration modules dynamically: {found}"
