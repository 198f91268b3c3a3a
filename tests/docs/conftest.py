from __future__ import annotations

import pytest

from tests.docs.demo import Demo, run_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`make demo` as the README has it, once, on a temporary RESPAWN_HOME (so that no test
    writes into the repository's data/)."""
    return run_demo(tmp_path_factory.mktemp("demo-home"))
