"""`deploybot shell --github fake` (devtools.fake_repos, devtools/shell/merges.py): every
service on a repository of a local fake GitHub; `merge <service> <version> [title]` moves
main's head to the current user's pull request squashed and tags it, the bot's next poll
deploys the commit to the environment production promotes from (its card naming the merge:
the commit's first line and its author), and production takes the tag of that commit (the
promotion gate by commit).
The mistakes a person can make with `merge` each get a line saying what to do."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import parse_config
from devtools.fake_github import sha_of
from devtools.fake_repos import fake_github, on_fake_github
from devtools.shell import run_shell
from tests.conftest import base_config
from tests.shell_checks import in_order

ROOT = Path(__file__).resolve().parent.parent
NY = ZoneInfo("America/New_York")
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=NY)


def config() -> dict[str, Any]:
    cfg = base_config()
    cfg["environments"]["production"].update({"production": True,
                                              "promote_from": "staging"})
    return cfg


def session(tmp_path: Path, script: str, *, github: str = "fake") -> str:
    file = tmp_path / "session.txt"
    file.write_text(script, encoding="utf-8")
    out = io.StringIO()
    code = run_shell(parse_config(config(), source="test config"),
                     database_url=f"sqlite:///{tmp_path / 'shell.db'}", script=str(file),
                     out=out, settle=0.15, clock=ManualClock(WEDNESDAY),
                     github=github)  # type: ignore[arg-type]
    assert code == 0, out.getvalue()[-3000:]
    return out.getvalue()


def test_a_merge_deploys_itself_to_staging_at_the_next_poll_and_its_tag_goes_to_production(
        tmp_path: Path) -> None:
    commit = sha_of("v1.3.0")[:12]
    out = session(tmp_path, "\n".join([
        "merge api v1.3.0",
        "advance 1m",
        "/deploy production v1.3.0",
        # A tag of a commit that never ran in staging is refused by the gate, by name.
        "as U0BOB",
        "merge api v1.4.0 Charge tax on gift cards",
        "/deploy production v1.4.0",
    ]))
    in_order(out,
             "api: demo/api (tags: v1.2.2); a merge to main deploys to staging",
             "(on GitHub: alice's pull request #1 “Release v1.3.0” is merged into main of "
             f"demo/api — commit {commit}, tagged v1.3.0)",
             "deploybot polls GitHub every 1m; `advance 1m` lets it look)",
             "(Wed 2026-12-02 10:01 EST · the scheduler runs poll-github)",
             f"Deploy #1 api {commit} → staging",
             "Requested by: deploybot (github)",
             f"Automatic: `main` moved to `{commit}` — 'Release v1.3.0 (#1)' by alice",
             f"✅ api `{commit}` is live in staging",
             "Deploy #2 api v1.3.0 → production",
             "Status: ⏳ Awaiting approval",
             "(on GitHub: bob's pull request #2 “Charge tax on gift cards” is merged into main "
             f"of demo/api — commit {sha_of('v1.4.0')[:12]}, tagged v1.4.0)",
             "`v1.4.0` has not succeeded in staging yet")
    # Only the merge deployed itself: the first look at main (its head at the start) was a
    # baseline, and v1.4.0's merge is not looked at before the next poll.
    assert out.count("is live in staging") == 1 and "Deploy #3" not in out


def test_merge_says_what_to_do_with_each_mistake(tmp_path: Path) -> None:
    out = session(tmp_path, "\n".join([
        "merge",
        "merge api",
        "merge nope v1.0.0",
        "merge api v1.2.2",  # main's head is tagged with it already
        "/deploy staging v9.9.9",  # versions are the repository's tags now
    ]))
    assert out.count("Usage: merge <service> <version> [title], e.g. `merge api v1.2.3`") == 2
    in_order(out,
             "There is no service 'nope' (services: api).",
             "demo/api already has the tag v1.2.2: merge under a new version.",
             "`v9.9.9` is not a tag of demo/api.")
    assert "could not run that line" not in out


def test_the_command_with_a_fake_github_starts_and_ends_without_noise(tmp_path: Path) -> None:
    """`deploybot shell --github fake` as a real process: the fake GitHub, the first poll
    (a baseline) and Bolt's start call Slack before the session is attached (a critic saw
    `AssertionError: attach() first` printed there; 4d82ed5 answered calls before attach).
    Nothing may reach stderr: no traceback, no log line — only the transcript, on stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYBOT_CONFIG", "DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    p = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--github", "fake", "--at", "2026-12-02T10:00",
         "--config", str(ROOT / "app.yaml"), "--database-url",
         f"sqlite:///{tmp_path / 'shell.db'}", "--script", "-"],
        input="merge api v1.3.0\nadvance 1m\n/deploy status\n", cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    assert p.stderr == ""
    assert f"✅ api `{sha_of('v1.3.0')[:12]}` is live in staging" in p.stdout


def test_without_a_fake_github_merge_says_how_to_get_one(tmp_path: Path) -> None:
    out = session(tmp_path, "merge api v1.3.0\n", github="none")
    assert "(this shell has no GitHub: start it with `--github fake`" in out
    assert "github: a fake GitHub" not in out


def test_a_service_already_on_github_keeps_its_repository_and_automatic_deploys() -> None:
    cfg = config()
    cfg["services"]["api"]["github"] = {"repository": "acme/api",
                                        "auto_deploy": {"release": "staging"}}
    cfg["services"]["api"]["version_pattern"] = r"^v\d+\.\d+\.\d+$"
    moved = on_fake_github(parse_config(cfg, source="test"), api_url="http://127.0.0.1:1")
    gh = moved.services["api"].github
    assert gh is not None
    assert (gh.repository, gh.auto_deploy) == ("acme/api", {"release": "staging"})
    assert moved.github.api_url == "http://127.0.0.1:1" and moved.github.poll == "on"
    # An automatic deploy's version (a commit's first 12 characters) now matches, and only a
    # whole one: the service's own versions still do.
    pattern = moved.services["api"].version_pattern
    assert re.search(pattern, "0123456789ab") and re.search(pattern, "v1.2.3")
    assert not re.search(pattern, "v1.2.3-0123456789abcdef")


def test_a_service_no_production_environment_promotes_from_gets_no_automatic_deploy() -> None:
    cfg = base_config()  # no promote_from anywhere
    with fake_github(parse_config(cfg, source="test")) as repos:
        gh = repos.config.services["api"].github
        assert gh is not None and gh.auto_deploy == {}
        merged = repos.merge("api", "v2.0.0")
        assert merged.targets == ()
        assert repos.state.branches[("demo/api", "main")] == sha_of("v2.0.0")
        assert repos.github.repos["demo/api"][0] == "v2.0.0"


@pytest.mark.parametrize("pattern", [r"^[0-9a-f]{12}$", r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$"])
def test_a_pattern_that_takes_commits_already_is_kept(pattern: str) -> None:
    cfg = config()
    cfg["services"]["api"]["version_pattern"] = pattern
    moved = on_fake_github(parse_config(cfg, source="test"), api_url="http://127.0.0.1:1")
    assert moved.services["api"].version_pattern == pattern


def test_polling_only_after_a_merge_shows_exactly_what_polling_every_minute_shows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell's timeline runs the poll of its GitHub only when it can find something
    (devtools/shell/merges.py poll_github_due: a merge not looked at, a head waiting): a
    session of merges, an hour apart, reads the same line for line as one where every minute's
    poll runs."""
    from functools import partial

    from devtools.shell import run as shell_run
    from devtools.shell.timeline import Timeline

    script = "\n".join(["advance 1h", "merge api v1.3.0", "advance 1h", "as U0BOB",
                        "merge api v1.4.0 Charge tax on gift cards", "advance 1m",
                        "merge api v1.5.0", "advance 1h"])
    (tmp_path / "skipping").mkdir()
    skipping = session(tmp_path / "skipping", script)
    monkeypatch.setattr(shell_run, "Timeline", partial(Timeline, skip_quiet=False))
    (tmp_path / "every-minute").mkdir()
    every_minute = session(tmp_path / "every-minute", script)
    in_order(every_minute,
             f"✅ api `{sha_of('v1.3.0')[:12]}` is live in staging",
             f"✅ api `{sha_of('v1.4.0')[:12]}` is live in staging",
             f"✅ api `{sha_of('v1.5.0')[:12]}` is live in staging")
    def same(out: str) -> str:  # the database's path and the fake GitHub's port differ
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT",
                      out.replace("skipping/", "every-minute/"))

    assert same(skipping) == same(every_minute)
