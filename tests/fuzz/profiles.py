"""Hypothesis profiles of the fuzz tests; HYPOTHESIS_PROFILE selects one (`ci` by default).

- `ci`: a bounded number of examples per test, so that the fuzz tests together stay within
  about 30 s of the suite on a 2-core machine; derandomized (the same examples on every
  run, so a CI failure reproduces locally) and so without an example database.
- `long`: thousands of examples per test (FUZZ_EXAMPLES, default 2000), random, remembering
  failing examples in .hypothesis/ (git-ignored) so that a rerun tries them first.
  `python -m benchmarks.fuzz` runs it. FUZZ_SKIP_EXPLICIT=1 leaves out the tests' pinned
  `@example`s (a failing one stops a test before any random example is tried).

Loaded by tests/fuzz/conftest.py, before the test modules are imported (`scaled` reads it).
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

REPO = Path(__file__).resolve().parents[2]
#: Where the `long` profile keeps failing examples (.gitignore has .hypothesis/).
EXAMPLES_DIR = REPO / ".hypothesis" / "examples"
#: Examples per fuzz test in the `ci` profile (a test may ask for a multiple: `scaled`).
CI_EXAMPLES = 100
#: The `long` profile's examples per test unless FUZZ_EXAMPLES says otherwise.
LONG_EXAMPLES = 2000


def register() -> None:
    settings.register_profile(
        "ci",
        max_examples=CI_EXAMPLES,
        # An example is a real HTTP round trip to a served bot, on PostgreSQL too: its
        # time says nothing about the code under test.
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
    )
    settings.register_profile(
        "long",
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", str(LONG_EXAMPLES))),
        deadline=None,
        database=DirectoryBasedExampleDatabase(str(EXAMPLES_DIR)),
        print_blob=True,
        phases=[p for p in Phase
                if not (p is Phase.explicit and os.environ.get("FUZZ_SKIP_EXPLICIT"))],
        # Not a data-generation problem: thousands of HTTP round trips, PostgreSQL, a slow
        # machine. (The `ci` profile keeps every health check.)
        suppress_health_check=[HealthCheck.too_slow],
    )


def load() -> str:
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    settings.load_profile(name)
    return name


def scaled(factor: float) -> int:
    """`factor` times the loaded profile's examples: for tests much cheaper (a pure parser)
    or dearer (several requests per example) than one HTTP round trip."""
    return max(1, round(settings().max_examples * factor))
