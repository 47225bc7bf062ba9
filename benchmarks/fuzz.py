"""The long fuzz run: the suite's property-based tests (tests/fuzz/) with thousands of
examples each instead of the `ci` profile's few dozen.

It runs pytest on tests/fuzz/ with the Hypothesis profile `long` (tests/fuzz/profiles.py):
random examples, about `--examples` per test (a test asks for a multiple of it, as it does
of the `ci` profile's: tests/fuzz/profiles.py `scaled`), a failing example shrunk to a
minimal one that pytest prints with the test's notes (the exact body and headers sent) and
remembered in .hypothesis/ (git-ignored), to be tried first on the next run.

    .venv/bin/python -m benchmarks.fuzz --examples 5000
    .venv/bin/python -m benchmarks.fuzz --examples 2000 -k slack_events
    .venv/bin/python -m benchmarks.fuzz --skip-explicit   # past the pinned known failures
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/fuzz \\
        .venv/bin/python -m benchmarks.fuzz            # on PostgreSQL (emptied first)

The exit code is pytest's: 0 when every property held.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EXAMPLES = 2000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                        help=f"examples per fuzz test (default {DEFAULT_EXAMPLES})")
    parser.add_argument("-k", dest="keyword", default=None,
                        help="only the tests matching this pytest -k expression")
    parser.add_argument("--seed", default=None,
                        help="Hypothesis seed, to repeat a run (default: random)")
    parser.add_argument("--skip-explicit", action="store_true",
                        help="leave out the tests' pinned @examples (known failures stop a "
                             "test before its random examples)")
    parser.add_argument("--no-stats", action="store_true",
                        help="leave out Hypothesis' statistics per test")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")

    env = dict(os.environ, HYPOTHESIS_PROFILE="long", FUZZ_EXAMPLES=str(args.examples))
    if args.skip_explicit:
        env["FUZZ_SKIP_EXPLICIT"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"]
    if not args.no_stats:
        cmd.append("--hypothesis-show-statistics")
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.seed is not None:
        cmd.append(f"--hypothesis-seed={args.seed}")
    database = env.get("TEST_DATABASE_URL") or "SQLite (a new file per test module)"
    print(f"fuzz: profile long, {args.examples} examples per test, database {database}",
          flush=True)
    started = time.monotonic()
    code = subprocess.call(cmd, cwd=REPO, env=env)
    took = time.monotonic() - started
    print(f"fuzz: {'every property held' if code == 0 else f'pytest exited {code}'} "
          f"({took:.0f} s)", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
