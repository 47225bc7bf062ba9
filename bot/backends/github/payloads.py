"""GitHub's JSON for workflow runs and jobs turned into deploybot's values
(bot.domain.workflow_runs), shared by the Actions executor (`actions`) and `/ci` (`runs`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from github.GithubException import GithubException

from bot.domain.workflow_runs import RunJob, Step, WorkflowRun


def error_message(e: GithubException) -> str:
    """GitHub's own `message` of an error answer (at most 200 characters), or ""."""
    data = e.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:200]
    return ""


def _when(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _text(raw: object, default: str = "") -> str:
    return raw if isinstance(raw, str) else default


def _opt(raw: object) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def workflow_run(r: dict[str, Any]) -> WorkflowRun:
    return WorkflowRun(
        id=int(r["id"]), name=_text(r.get("name"), "workflow"),
        title=_text(r.get("display_title")), number=int(r.get("run_number") or 0),
        attempt=int(r.get("run_attempt") or 1), status=_text(r.get("status"), "unknown"),
        conclusion=_opt(r.get("conclusion")), url=_text(r.get("html_url")),
        head_sha=_text(r.get("head_sha")), branch=_opt(r.get("head_branch")),
        event=_text(r.get("event")), created_at=_when(r.get("created_at")),
        updated_at=_when(r.get("updated_at")), actor=_login(r.get("triggering_actor"))
        or _login(r.get("actor")),
    )


def _login(raw: object) -> str | None:
    return _opt(raw.get("login")) if isinstance(raw, dict) else None


def run_job(j: dict[str, Any]) -> RunJob:
    steps = tuple(Step(number=int(s.get("number") or 0), name=_text(s.get("name"), "step"),
                       status=_text(s.get("status"), "unknown"),
                       conclusion=_opt(s.get("conclusion")))
                  for s in (j.get("steps") or []))
    return RunJob(id=int(j["id"]), name=_text(j.get("name"), "job"),
                  status=_text(j.get("status"), "unknown"), conclusion=_opt(j.get("conclusion")),
                  url=_text(j.get("html_url")), steps=steps,
                  run_id=int(j["run_id"]) if isinstance(j.get("run_id"), int) else None)
