"""`deploybot shell --cluster fake`: scripted sessions with every service on the Kubernetes
executor, rolled out through the real client against a fake Kubernetes API server that lives
as long as the shell."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig, ConfigError, parse_config
from devtools.fake_cluster import CONTEXT, fake_kubernetes, on_fake_kubernetes
from devtools.shell import run_shell
from tests.conftest import WEDNESDAY, base_config

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "kubernetes.txt"
FAST_TICK = 0.05  # the fake controller's step: a rollout of three pods in a few of them
_SERVER = re.compile(r"a fake Kubernetes API server at http://127\.0\.0\.1:(\d+)")
#: The demo's --at: Wednesday 2026-12-02 10:00 in New York (app.yaml's and the tests' zone).
DEMO_AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)

SESSION = """\
/deploy staging v1.2.3
/deploy production v1.2.3
as U0BOB
click approve
as U0ALICE
/deploy staging v1.2.4-bad
/deploy status
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def config(**overrides: Any) -> AppConfig:
    return parse_config(base_config(**overrides), source="test config")


def shell(database_url: str, script: str, tmp_path: Path, *, cfg: AppConfig | None = None,
          inp: io.StringIO | None = None, at: datetime = WEDNESDAY) -> tuple[int, str]:
    out = io.StringIO()
    path = None
    if script:
        file = tmp_path / "session.txt"
        file.write_text(script, encoding="utf-8")
        path = str(file)
    code = run_shell(cfg or config(), database_url=database_url, script=path, out=out,
                     inp=inp, settle=0.15, clock=ManualClock(at), cluster="fake",
                     fake_tick=FAST_TICK)
    return code, out.getvalue()


def server_port(transcript: str) -> int:
    m = _SERVER.search(transcript)
    assert m is not None, transcript[:2000]
    return int(m.group(1))


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def status_lines(transcript: str) -> list[str]:
    """The "Running now" lines of every `/deploy status` answer, in order."""
    return [" ".join(m.group(0).split()) for m in re.finditer(
        r"• `[a-z-]+` / `[a-z-]+`: .*?(?=\n\s*(?:•|\n|$))", transcript, re.S)
        if any(w in m.group(0) for w in (" since ", "(since unknown)", " applied "))]


def today() -> str:
    """The real date in the team's zone, as a "since" would show it ("Sun 2026-12-06")."""
    return datetime.now(ZoneInfo("America/New_York")).strftime("%a %Y-%m-%d")


def card_edits(transcript: str, deployment: int) -> list[str]:
    """The `Status:` lines of deployment N's card as it was edited, in order."""
    head = f"[#C0DEPLOYS] (edited) Deploy #{deployment} "
    out: list[str] = []
    editing = False
    for line in transcript.splitlines():
        if not line.startswith(" "):
            editing = line.startswith(head)
        elif editing and line.strip().startswith("Status: "):
            out.append(line.strip())
    return out


def test_a_session_on_the_fake_cluster_rolls_out_with_progress_and_fails_with_the_cause(
        database_url: str, tmp_path: Path) -> None:
    code, out = shell(database_url, SESSION, tmp_path)
    text = flat(out)
    assert code == 0

    # The banner says where the services run and what runs there.
    port = server_port(out)
    assert "staging: Deployment staging/api runs api v1.2.2 (3 pods)" in out
    assert "production: Deployment production/api runs api v1.2.2 (3 pods)" in out

    # Staging: the card follows the Deployment as the Kubernetes backend reports it ("N
    # available" is its wording; the simulated cluster says only "N/3 pods updated"). The
    # runner reads the Deployment from its fiber (bot/fibers.py: no watch stream), so a step
    # the fake controller takes between two reads may go unshown on a loaded machine; the
    # steps shown come in order.
    staging = card_edits(out, 1)
    assert staging[0] == "Status: 🚀 Rolling out — starting", staging
    rolling = [s for s in staging if "pods updated" in s]
    assert rolling[-1] == "Status: 🚀 Rolling out — 3/3 pods updated, 3 available", staging
    updated = [int(s.split("Rolling out — ")[1][0]) for s in rolling]
    assert updated == sorted(updated), rolling
    assert staging.index(rolling[-1]) < staging.index("Status: ✅ Succeeded")
    assert "[#C0DEPLOYS] ✅ api `v1.2.3` is live in staging" in out

    # Production: approved by someone else, rolled out the same way, then the new pods are
    # watched on the fake (the bake window passes on the shell's clock).
    production = card_edits(out, 2)
    assert "Status: 🚀 Rolling out — 3/3 pods updated, 3 available" in production, production
    assert "[#C0DEPLOYS] ✅ api `v1.2.3` is live in production" in out
    assert "verified: watched 5m00s, pods healthy" in text

    # The bad build: simulated.fail_versions became an image that cannot be pulled, and the
    # cause comes from the new pod's status.
    cause = ("Cause: the new pods cannot pull the image registry.example/api:v1.2.4-bad "
             '(container "api" of pod api-')
    assert "[#C0DEPLOYS] ❌ Deploy of api `v1.2.4-bad` to staging failed" in out
    assert cause in text
    assert 'ImagePullBackOff: Back-off pulling image "registry.example/api:v1.2.4-bad"' in text

    # What runs where: read live from the Deployments. The failed rollout left staging's
    # template on the bad image while its old pods still serve: status says exactly that
    # (applied, never ran; v1.2.3 still serves), and (automatic rollback being off in
    # staging) the card offers Rollback / Keep.
    assert "• `staging` / `api`: `v1.2.4-bad` applied " in text
    assert ("not running (0/3 new pods available); `v1.2.3` still serves (3 old pods)"
            in text), text
    assert "is left applied in staging" in text
    assert "Roll back to v1.2.3" in text
    assert "• `production` / `api`: `v1.2.3`" in text
    assert "(still busy" not in out and "could not run that line" not in out

    assert not accepts_connections(port), "the fake Kubernetes API server is still serving"


def test_the_fake_cluster_keeps_the_shells_clock(database_url: str, tmp_path: Path) -> None:
    """The fake stamps its ReplicaSets and conditions on the shell's clock, so "since"
    read from the cluster is the session's time, not the real one."""
    code, out = shell(database_url, "/deploy staging v1.2.3\n/deploy status\n", tmp_path,
                      at=DEMO_AT)
    assert code == 0
    lines = status_lines(out)
    assert any(ln.startswith("• `staging` / `api`: `v1.2.3` since Wed 2026-12-02 10:0")
               for ln in lines), lines
    # Seeded when the session started: the shell's 10:00 too.
    assert "• `production` / `api`: `v1.2.2` since Wed 2026-12-02 10:00 EST" in lines, lines
    assert not any(today() in ln for ln in lines) or today() == "Wed 2026-12-02", lines


class _Interrupted(io.StringIO):
    """Typed input that is interrupted (Ctrl-C) after its first line."""

    def __iter__(self) -> Iterator[str]:
        yield "/deploy staging v1.2.3\n"
        raise KeyboardInterrupt


def test_the_fake_cluster_is_stopped_when_the_session_is_interrupted(
        database_url: str, tmp_path: Path) -> None:
    code, out = shell(database_url, "", tmp_path, inp=_Interrupted())
    assert code == 130
    assert "(interrupted)" in out
    assert "is live in staging" in out  # the deployment in flight finished first
    assert not accepts_connections(server_port(out))


def test_the_fake_cluster_config_switches_every_service_to_kubernetes() -> None:
    original = config(
        environments={"staging": {}, "production": {}},
        services={
            "api": {"executor": "simulated"},
            "web": {"executor": "kubernetes", "environments": ["production"],
                    "kubernetes": {"image": "ghcr.io/acme/web:{version}",
                                   "namespaces": {"production": "web-prod"},
                                   "containers": ["web"]}},
        },
        kubernetes={"contexts": {"production": "prod-cluster"}},
    )
    cfg = on_fake_kubernetes(original)

    api, web = cfg.services["api"], cfg.services["web"]
    assert api.executor == web.executor == "kubernetes"
    assert api.kubernetes is not None and web.kubernetes is not None
    assert api.kubernetes.image == "registry.example/api:{version}"
    assert web.kubernetes.image == "ghcr.io/acme/web:{version}"  # its own settings are kept
    assert web.kubernetes.namespace("production") == "web-prod"
    assert web.environments == ["production"]
    assert cfg.kubernetes.contexts == {"staging": CONTEXT, "production": CONTEXT}
    # The rest is as it was, and the original is untouched.
    assert cfg.roles == original.roles and cfg.simulated == original.simulated
    assert original.services["api"].executor == "simulated"
    assert original.kubernetes.contexts == {"production": "prod-cluster"}

    with fake_kubernetes(original, tick=FAST_TICK) as cluster:
        seeded = {(d.environment, d.service): (d.namespace, d.name, d.version)
                  for d in cluster.deployments}
        assert seeded == {("staging", "api"): ("staging", "api", "v1.2.2"),
                          ("production", "api"): ("production", "api", "v1.2.2"),
                          ("production", "web"): ("web-prod", "web", "v1.2.2")}
        dep = cluster.fake.deployment("web-prod", "web")
        assert [c["image"] for c in dep["spec"]["template"]["spec"]["containers"]] == [
            "ghcr.io/acme/web:v1.2.2"]
        assert dep["status"]["readyReplicas"] == 3
        kubeconfig = Path(cluster.kubeconfig)
        assert kubeconfig.is_file()
        port = cluster.fake.port
        assert accepts_connections(port)
    assert not kubeconfig.exists()
    assert not accepts_connections(port)


def test_a_name_that_is_no_kubernetes_name_is_a_config_error() -> None:
    cfg = config(environments={"staging": {}, "qa_1": {}})
    with pytest.raises(ConfigError) as info:
        on_fake_kubernetes(cfg, source="app.yaml")
    message = str(info.value)
    assert message.startswith("app.yaml (--cluster fake): ")
    assert "qa_1" in message and "is not a valid Kubernetes name" in message


@pytest.mark.long
def test_the_command_runs_the_kubernetes_demo_script(tmp_path: Path) -> None:
    """`deploybot shell --cluster fake --script demo/kubernetes.txt` as a real process."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYBOT_CONFIG", "DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    p = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--cluster", "fake", "--at", "2026-12-02T10:00",
         "--config", str(ROOT / "app.yaml"), "--database-url",
         f"sqlite:///{tmp_path / 'shell.db'}", "--script", str(DEMO)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    out, text = p.stdout, flat(p.stdout)
    assert "✅ api `v1.2.3` is live in staging" in out
    assert "✅ api `v1.2.3` is live in production" in out
    assert "Approvals: 1/1 · ✅ approved by @U0CAROL" in out
    assert "Rolling out — 3/3 pods updated, 3 available" in out
    assert "❌ Deploy of api `v1.2.4-bad` to staging failed" in out
    assert "Cause: the new pods cannot pull the image" in text
    # The fake cluster runs on the shell's clock (--at, time-lapsed): every "since" is on
    # Wednesday 2026-12-02, not today's real date. Staging is left on the bad template:
    # applied, never ran, v1.2.3 still serving; Rollback on the card puts v1.2.3 back.
    lines = status_lines(out)
    assert len(lines) == 6, lines  # two /deploy status answers, three environments each
    assert all(" since Wed 2026-12-02 10:0" in ln or " applied Wed 2026-12-02 10:0" in ln
               for ln in lines), lines
    assert "• `development` / `api`: `v1.2.2` since Wed 2026-12-02 10:00 EST" in lines, lines
    before, after = lines[:3], lines[3:]
    assert any(ln.startswith("• `staging` / `api`: `v1.2.4-bad` applied Wed 2026-12-02 10:0")
               and " since " not in ln and "`v1.2.3` still serves (3 old pods)" in ln
               for ln in before), before
    assert "[ Roll back to v1.2.3 ] [ Keep v1.2.4-bad ]" in out
    assert "↩️ api is rolled back to `v1.2.3` in staging (replacing `v1.2.4-bad`" in out
    assert any(ln.startswith("• `staging` / `api`: `v1.2.3` since ")
               and "still serves" not in ln for ln in after), after
    assert "#3 `api` `v1.2.4-bad` → `staging` — ↩️ Rolled back" in out
    assert "(still busy" not in out and "could not run that line" not in out
    assert not accepts_connections(server_port(out))
