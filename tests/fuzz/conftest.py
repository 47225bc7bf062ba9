"""The fuzz tests' Hypothesis profiles (tests/fuzz/profiles.py: `ci` by default, `long` with
HYPOTHESIS_PROFILE=long) and one served bot per test module.

Each module serves one bot for all its examples (module-scoped fixtures below, so the `ci`
profile stays fast); each example compares cheap table counts before and after itself
(tests/fuzz/harness.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fuzz import profiles

profiles.register()
profiles.load()

from tests.fuzz.harness import Served, fuzz_config, module_database_url, serve  # noqa: E402


@pytest.fixture(scope="module")
def fuzz_database_url(tmp_path_factory: pytest.TempPathFactory,
                      server_database_url: str | None) -> Iterator[str]:
    """A database for the module's bot: a new SQLite file, or the suite's PostgreSQL
    (TEST_DATABASE_URL) emptied, as tests/conftest.py's `database_url` does per test."""
    yield from module_database_url(tmp_path_factory, server_database_url)


@pytest.fixture(scope="module")
def fuzz_config_data() -> dict[str, Any]:
    """app.yaml of the module's bot (a module may override this fixture)."""
    return fuzz_config()


@pytest.fixture(scope="module")
def served(fuzz_database_url: str, fuzz_config_data: dict[str, Any]) -> Iterator[Served]:
    """deploybot served over HTTP as `deploybot run` serves it, once for the module."""
    with serve(fuzz_config_data, fuzz_database_url) as s:
        yield s
