"""What `/rollout`, `/pods` and `/events` show (pure; Block Kit built from the domain's
answers, bot.domain.troubleshooting_answers): the acknowledgement while the executor is
read, then

- the rollout: desired / updated / ready / available replicas, the conditions with their
  reasons, the current and previous ReplicaSet with versions and change causes, and how long
  the current rollout has run (times in the configured zone, durations humanised); or what
  the simulated executor knows; or the latest deploy workflow run and its jobs;
- the pods: a compact section per pod, unhealthy first (version, ready n/m, phase or waiting
  reason, restarts, last termination "Error, exit 1, 3m ago", age, node), long lists capped
  with "and N more";
- the events: warnings first (⚠️), each with its count, age and object.

Everything fits one Slack message: at most 50 blocks, 3,000 characters a section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.text import clip
from bot.domain.troubleshooting_answers import (
    ActionsRollout,
    EventsAnswer,
    KubeRollout,
    PodsAnswer,
    RolloutAnswer,
    SimulatedRollout,
    TroubleshootAnswer,
)
from bot.domain.troubleshooting_commands import TroubleshootArgs
from bot.domain.workflow_runs import RunJob, icon, outcome
from bot.domain.workloads import Condition, EventView, PodView, ReplicaSetView, RolloutView
from bot.presentation.parts import Block, Message, when
from bot.presentation.sections import context, fit

MAX_BLOCKS = 50
MAX_SECTION = 3000
#: At most this many pods get a section of their own; the rest are counted.
MAX_PODS = 20
#: At most this many events are listed; the rest are counted.
MAX_EVENTS = 40
#: At most this many jobs of a run are listed.
MAX_JOBS = 15

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DOING = {"rollout": "Reading the rollout", "pods": "Listing the pods",
          "events": "Reading the events"}


def esc(text: str, limit: int = 200) -> str:
    """Cluster- or GitHub-supplied text safe in mrkdwn: control characters removed, one
    line, cut to `limit` at a word, `& < >` escaped (Slack acts on them), backticks made
    harmless."""
    text = clip(_CONTROL.sub("", text).replace("\n", " ").strip(), limit)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("`", "'"))


def span(d: timedelta) -> str:
    """A duration for people: '45s', '3m', '2h 5m', '3d 4h'."""
    s = max(0, int(d.total_seconds()))
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m}m" if m else f"{h}h"
    days, h = divmod(h, 24)
    return f"{days}d {h}h" if h else f"{days}d"


def ago(then: datetime | None, now: datetime) -> str:
    return "—" if then is None else f"{span(now - then)} ago"


def _section(text: str) -> Block:
    if len(text) > MAX_SECTION:
        text = fit(text, MAX_SECTION)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}



def _message(texts: Sequence[str], meta: str) -> Message:
    """One section per text (at most MAX_BLOCKS - 1 of them), then the context line."""
    shown = list(texts[:MAX_BLOCKS - 1])
    blocks = [_section(t) for t in shown] + [context(meta)]
    return Message(text="\n".join([*shown, meta])[:3900], blocks=blocks)


def reading(args: TroubleshootArgs) -> str:
    """The acknowledgement while the executor is read."""
    return (f"⏳ {_DOING[args.kind]} of `{args.service}` in {args.environment}… "
            "(the answer follows here)")


def answer_message(answer: TroubleshootAnswer, zone: ZoneInfo) -> Message:
    """The answer of `/rollout`, `/pods` or `/events`."""
    if isinstance(answer, PodsAnswer):
        return pods_message(answer, zone)
    if isinstance(answer, EventsAnswer):
        return events_message(answer, zone)
    return rollout_message(answer, zone)


# -- /rollout ---------------------------------------------------------------------------

def rollout_message(answer: RolloutAnswer, zone: ZoneInfo) -> Message:
    if isinstance(answer, KubeRollout):
        return _kube_rollout(answer, zone)
    if isinstance(answer, ActionsRollout):
        return _actions_rollout(answer, zone)
    return _simulated_rollout(answer, zone)


def _state(v: RolloutView) -> str:
    progressing = next((c for c in v.conditions if c.type == "Progressing"), None)
    if v.paused:
        return "⏸️ Paused"
    if progressing is not None and progressing.status == "False":
        return f"❌ Stuck ({esc(progressing.reason or 'not progressing', 60)})"
    if v.settled:
        return "✅ Complete"
    return "🔄 Rolling out"


def _condition(c: Condition, now: datetime) -> str:
    ok = c.status == "True" if c.type != "ReplicaFailure" else c.status != "True"
    mark = "✅" if ok else ("❔" if c.status == "Unknown" else "❌")
    line = f"{mark} *{esc(c.type, 40)}* {esc(c.status, 10)}"
    if c.reason:
        line += f" — {esc(c.reason, 60)}"
    if c.message:
        line += f": {esc(c.message, 300)}"
    if c.last_update is not None:
        line += f" _({ago(c.last_update, now)})_"
    return line


def _replica_set(label: str, rs: ReplicaSetView | None, now: datetime) -> str:
    if rs is None:
        return f"*{label}:* none"
    version = f"`{esc(rs.version, 80)}`" if rs.version else "_not a version of ours_"
    revision = f" · revision {rs.revision}" if rs.revision is not None else ""
    line = (f"*{label}:* {version} — ReplicaSet `{esc(rs.name, 100)}`{revision} · "
            f"{rs.ready}/{rs.replicas} ready · created {ago(rs.created, now)}")
    if rs.change_cause:
        line += f"\n      cause: {esc(rs.change_cause, 300)}"
    return line


def _kube_rollout(a: KubeRollout, zone: ZoneInfo) -> Message:
    head = f"*Rollout of `{a.service}` in {a.environment}*"
    meta = f"Read from the cluster · {when(a.at, zone)}"
    v = a.view
    if v is None:
        return _message([f"{head}\nThere is no Deployment of `{a.service}` in "
                         f"{a.environment}: nothing runs there yet."], meta)
    texts = [f"{head} — Deployment `{esc(v.deployment, 100)}` in namespace "
             f"`{esc(v.namespace, 100)}`\n{_state(v)} · desired *{v.desired}* · updated "
             f"*{v.updated}* · ready *{v.ready}* · available *{v.available}*"]
    if v.rollout_started is not None:
        ran = span(a.at - v.rollout_started)
        since = when(v.rollout_started, zone)
        texts.append(f"The current rollout started {since}: " + (
            f"it has run for {ran}." if not v.settled else f"{ran} ago (complete)."))
    if v.conditions:
        texts.append("*Conditions*\n" + "\n".join(_condition(c, a.at) for c in v.conditions))
    texts.append(_replica_set("Current", v.current, a.at) + "\n"
                 + _replica_set("Previous", v.previous, a.at))
    return _message(texts, meta)


def _simulated_rollout(a: SimulatedRollout, zone: ZoneInfo) -> Message:
    head = f"*Rollout of `{a.service}` in {a.environment}* — the simulated executor"
    if a.version is None:
        body = "Nothing was rolled out there yet."
    else:
        since = (f" since {when(a.since, zone)} ({ago(a.since, a.at)})"
                 if a.since is not None else "")
        body = f"Runs `{esc(a.version, 80)}`{since}."
    if a.previous:
        body += "\nBefore it: " + ", ".join(f"`{esc(p, 80)}`" for p in a.previous) + "."
    note = ("_The simulated executor has no Deployment, ReplicaSets or pods: this is what it "
            "knows._")
    return _message([f"{head}\n{body}\n{note}"], f"Read just now · {when(a.at, zone)}")


def _link(url: str, label: str) -> str:
    return f"<{url}|{label}>" if url.startswith(("https://", "http://")) else label


def _job(job: RunJob) -> str:
    line = f"{icon(job.status, job.conclusion)} {_link(job.url, esc(job.name, 80))} — " \
           f"{outcome(job.status, job.conclusion)}"
    for step in job.failed_steps[:3]:
        line += f"\n      ↳ failed step {step.number}: " \
                f"{_link(job.step_url(step), esc(step.name, 80))}"
    return line


def _actions_rollout(a: ActionsRollout, zone: ZoneInfo) -> Message:
    head = (f"*Rollout of `{a.service}` in {a.environment}* — GitHub Actions "
            f"({esc(a.repository, 140)}, workflow `{esc(a.workflow, 80)}`)")
    meta = f"Read from GitHub · {when(a.at, zone)}"
    r = a.run
    if r is None:
        return _message([f"{head}\nNo recent run of the deploy workflow names "
                         f"{a.environment}: it was not deployed there by it lately."], meta)
    label = f"{r.icon} {esc(r.title or r.name, 120)} #{r.number}"
    by = f" by {esc(r.actor, 60)}" if r.actor else ""
    started = (f" · started {when(r.created_at, zone)} ({ago(r.created_at, a.at)})"
               if r.created_at is not None else "")
    run = f"*Latest deploy run:* {_link(r.url, label)} — {r.outcome}{started}{by}"
    if r.completed and r.created_at is not None and r.updated_at is not None:
        run += f" · took {span(r.updated_at - r.created_at)}"
    jobs = "\n".join(_job(j) for j in a.jobs[:MAX_JOBS]) or "_No jobs reported yet._"
    if len(a.jobs) > MAX_JOBS:
        jobs += f"\n… and {len(a.jobs) - MAX_JOBS} more job(s)"
    rerun = f"\nRe-run its failed jobs: `/ci rerun {r.id} --failed`" if r.failed else ""
    note = ("_A workflow has no pods: `/pods` and `/events` do not apply; each job's log is "
            "linked._")
    return _message([f"{head}\n{run}", f"*Jobs*\n{jobs}{rerun}", note], meta)


# -- /pods ------------------------------------------------------------------------------

def _pod(p: PodView, now: datetime) -> str:
    mark = "✅" if p.healthy else "❌"
    state = p.waiting_reason or p.phase
    version = f"`{esc(p.version, 80)}`" if p.version else "_not a version of ours_"
    line = (f"{mark} *`{esc(p.name, 100)}`* — {version} · {p.ready}/{p.containers} ready · "
            f"*{esc(state, 60)}*")
    facts = [f"restarts {p.restarts}"]
    t = p.last_termination
    if t is not None:
        code = f", exit {t.exit_code}" if t.exit_code is not None else ""
        facts.append(f"last termination: {esc(t.reason, 40)}{code}, {ago(t.finished, now)}")
    facts.append(f"age {span(now - p.created) if p.created is not None else '—'}")
    facts.append(f"node `{esc(p.node, 80)}`" if p.node else "no node")
    line += "\n" + " · ".join(facts)
    why = p.unschedulable or p.waiting_message or (t.message if t is not None else "")
    if why and not p.healthy:
        line += f"\n> {esc(why, 400)}"
    return line


def pods_message(a: PodsAnswer, zone: ZoneInfo) -> Message:
    unhealthy = sum(1 for p in a.pods if not p.healthy)
    head = (f"*Pods of `{a.service}` in {a.environment}* — {len(a.pods)} pod(s)"
            + (f", {unhealthy} unhealthy" if unhealthy else ", all healthy" if a.pods else ""))
    texts = [head]
    if not a.pods:
        texts.append("No pods: the Deployment has none (scaled to zero, or not created).")
    texts.extend(_pod(p, a.at) for p in a.pods[:MAX_PODS])
    if len(a.pods) > MAX_PODS:
        texts.append(f"… and {len(a.pods) - MAX_PODS} more pod(s)")
    return _message(texts, f"Read from the cluster · {when(a.at, zone)} · `/logs "
                           f"{a.environment} {a.service}` shows a pod's log")


# -- /events ----------------------------------------------------------------------------

def _event(e: EventView, now: datetime) -> str:
    mark = "⚠️" if e.type == "Warning" else "•"
    count = f" ({e.count} times)" if e.count > 1 else ""
    return (f"{mark} *{esc(e.reason, 60)}*{count} `{esc(e.object, 120)}` · "
            f"{ago(e.last_seen, now)} — {esc(e.message, 300)}")


def _packed(lines: Sequence[str], limit: int = MAX_SECTION - 100) -> list[str]:
    """Lines joined into as few section texts as fit `limit` characters each."""
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) + 1 + len(line) <= limit:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def events_message(a: EventsAnswer, zone: ZoneInfo) -> Message:
    warnings = sum(1 for e in a.events if e.type == "Warning")
    head = (f"*Events of `{a.service}` in {a.environment}* — {len(a.events)} event(s)"
            + (f", {warnings} warning(s)" if warnings else ""))
    lines = [_event(e, a.at) for e in a.events[:MAX_EVENTS]]
    if len(a.events) > MAX_EVENTS:
        lines.append(f"… and {len(a.events) - MAX_EVENTS} more event(s)")
    if not a.events:
        lines.append("No recent events (Kubernetes keeps them for about an hour).")
    return _message([head, *_packed(lines)], f"Read from the cluster · {when(a.at, zone)}")
