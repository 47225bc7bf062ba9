"""What `/ci` shows (pure; Block Kit built from the domain's CIReport and CIRerun): the
acknowledgement while GitHub is asked, the workflow runs of a version or one run (✅ / ❌ / ⏳,
each linked) with the failed jobs and failed steps of failed runs (linked to their logs), and
the announcement of a re-run (of the run, its failed jobs, or the one job named). Everything
is capped to fit one Slack message.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.domain.ci_commands import CIRerunArgs, CIRunsArgs
from bot.domain.text import clip
from bot.domain.workflow_runs import CIReport, CIRerun, RunDetail, RunJob
from bot.presentation.blocks import Block, Message, when
from bot.presentation.sections import context, fit, section

#: At most this many failed jobs per run, and failed steps per job, are listed.
MAX_JOBS = 5
MAX_STEPS = 3
#: A section's text is limited to 3000 characters; a message to 50 blocks.
MAX_SECTION = 3000
MAX_BLOCKS = 50

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _esc(text: str, limit: int = 80) -> str:
    """GitHub-supplied text (workflow, job, step names) safe in mrkdwn and in a link label."""
    text = clip(_CONTROL.sub("", text).replace("\n", " "), limit)  # cut at a word
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "¦").replace("`", "'"))


def _link(url: str, label: str) -> str:
    return f"<{url}|{label}>" if url.startswith(("https://", "http://")) else label




def looking_up(args: CIRunsArgs | CIRerunArgs) -> str:
    """The acknowledgement while GitHub is asked."""
    if isinstance(args, CIRerunArgs):
        what = ("its failed jobs" if args.failed_only
                else f"job {args.job_id} of it" if args.job_id is not None else "it")
        return (f"⏳ Re-running {what}: workflow run {args.run_id} of `{args.service}`… "
                "(the answer follows here)")
    asked = (f"workflow run {args.run_id}" if args.run_id is not None
             else f"the CI runs of `{_esc(args.version or '')}`")
    return f"⏳ Looking up {asked} of `{args.service}` on GitHub…"


def _job_lines(job: RunJob) -> list[str]:
    lines = [f"    {_link(job.url, '❌ ' + _esc(job.name))} — {job.conclusion or 'failed'}"
             f" · job `{job.id}`"]
    steps = job.failed_steps
    for step in steps[:MAX_STEPS]:
        lines.append(f"        ↳ failed step {step.number}: "
                     f"{_link(job.step_url(step), _esc(step.name))}")
    if len(steps) > MAX_STEPS:
        lines.append(f"        … and {len(steps) - MAX_STEPS} more failed step(s)")
    return lines


def run_lines(detail: RunDetail) -> list[str]:
    """A run's line (icon, linked workflow name and number, outcome, id) and, when it failed,
    its failed jobs and steps."""
    r = detail.run
    label = f"{r.icon} {_esc(r.name)} #{r.number}"
    attempt = f" · attempt {r.attempt}" if r.attempt > 1 else ""
    where = f" · {_esc(r.event, 30)}" + (f" on `{_esc(r.branch, 60)}`" if r.branch else "")
    lines = [f"*{_link(r.url, label)}* — {r.outcome}{where}{attempt} · run `{r.id}`"]
    if not r.failed:
        return lines
    if not detail.jobs_looked_up:
        lines.append(f"    _Failed jobs not looked up here: `/ci {r.id}` shows them._")
        return lines
    jobs = detail.failed_jobs
    for job in jobs[:MAX_JOBS]:
        lines.extend(_job_lines(job))
    if len(jobs) > MAX_JOBS:
        lines.append(f"    … and {len(jobs) - MAX_JOBS} more failed job(s)")
    if not jobs:
        lines.append("    _No failed job reported (it may have failed before any job "
                     "started)._")
    lines.append(f"    Re-run: `/ci rerun {r.id} --failed`"
                 + (f", or one job: `/ci rerun {r.id} --job={jobs[0].id}`" if jobs else ""))
    return lines


def ci_report_view(report: CIReport, zone: ZoneInfo) -> Message:
    """The runs of a version's commit (or one run), newest first, capped to one message."""
    repo = _esc(report.repository, 140)
    if report.version is not None:
        sha = (report.sha or "")[:12]
        head = (f"*CI of `{_esc(report.version)}`* — `{report.service}` ({repo}), commit "
                f"`{sha}`")
    else:
        head = f"*Workflow run {report.run_id}* — `{report.service}` ({repo})"
    blocks: list[Block] = [section(head)]
    texts = [head]
    if not report.runs:
        empty = ("No workflow runs for this commit (yet): GitHub Actions has not run on it, "
                 "or its workflows do not run for tags.")
        blocks.append(section(empty))
        texts.append(empty)
    for detail in report.runs:
        if len(blocks) >= MAX_BLOCKS - 2:
            break
        text = "\n".join(run_lines(detail))
        if len(text) > MAX_SECTION:
            text = fit(text, MAX_SECTION)
        blocks.append(section(text))
        texts.append(text)
    shown = len(blocks) - 1 if report.runs else 0
    more = report.total - shown
    meta = f"{when(report.at, zone)}"
    if more > 0:
        meta = f"{more} more run(s) not shown (newest first) · " + meta
    blocks.append(context(meta))
    texts.append(meta)
    return Message(text="\n".join(texts)[:3900], blocks=blocks)


def rerun_view(done: CIRerun, zone: ZoneInfo) -> Message:
    """The announcement of a re-run, in the channel the command came from."""
    r = done.run
    label = f"{_esc(r.name)} #{r.number}"
    job = done.job
    if job is not None:
        what = f"job *{_link(job.url, _esc(job.name))}* (and the jobs that depend on it) of "
        ended = f"the job had ended in {job.outcome}, the run in {r.icon} {r.outcome}"
    else:
        what = "the failed jobs of " if done.failed_only else ""
        ended = f"it had ended in {r.icon} {r.outcome}"
    text = (f"🔁 <@{done.user_id}> re-ran {what}*{_link(r.url, label)}* of "
            f"`{done.service}` ({_esc(done.repository, 140)}) — {ended}. Follow it at {r.url}")
    meta = (f"run `{r.id}`" + (f" · job `{job.id}`" if job is not None else "")
            + f" · {when(done.at, zone)}")
    return Message(text=text, blocks=[section(text), context(meta)])
