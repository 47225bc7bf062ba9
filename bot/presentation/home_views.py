"""The App Home tab as a Block Kit `home` view (pure: built from domain values).

What it shows, in this order: the approvals waiting (each with the card's own Approve /
Reject buttons), then per environment the deploy window now and its next change (the line
`/freeze` and `/deploys` show) and per service the running version, since when, and any
lock (its environment's window line names the locked services), then the last deployments
— the lock, window and deployment lines worded as `/deploy status` words them.

Slack takes at most 100 blocks per view and 3000 characters per text. With many services
(200 in 3 environments is ~600 lines) the service lines are packed into sections of up to
~2900 characters, locked services first; the blocks left after the fixed parts are shared
fairly between environments, and whatever does not fit is cut with a line saying how many
services (or approvals) are not shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment
from bot.domain.live import Observed
from bot.domain.locks import Lock
from bot.domain.text import reason_text, shown, who
from bot.presentation import ids
from bot.presentation.blocks import Block, approval_actions, title, when
from bot.presentation.freeze_views import WindowView, window_line
from bot.presentation.live_views import last_known_note, stopped_note, version_text
from bot.presentation.lock_views import lock_note
from bot.presentation.parts import deployment_line
from bot.presentation.sections import context, fit, header, section

MAX_BLOCKS = 100  # Slack's limit for a view
SECTION_CHARS = 2900  # what a section of packed lines may hold (leaves room for a note)
MAX_PENDING = 8  # approvals shown with their buttons (two blocks each)
NOTE_RESERVE = 1  # a block kept free for the closing "not shown" note


class ServiceLineView(Protocol):
    """One service in one environment (`bot.services.home.ServiceLine`)."""

    @property
    def service(self) -> str: ...

    @property
    def version(self) -> str | None: ...

    @property
    def since(self) -> datetime | None: ...

    @property
    def from_cluster(self) -> bool: ...

    @property
    def lock(self) -> Lock | None: ...

    @property
    def drift(self) -> bool: ...

    @property
    def tag(self) -> str | None: ...

    @property
    def unsettled(self) -> Observed | None: ...

    @property
    def unreadable(self) -> str | None: ...

    @property
    def nothing_running(self) -> bool: ...

    @property
    def stopped(self) -> Observed | None: ...


class EnvironmentHomeView(Protocol):
    @property
    def window(self) -> WindowView: ...

    @property
    def services(self) -> Sequence[ServiceLineView]: ...


class HomeView(Protocol):
    """What the tab shows (`bot.services.home.Home`)."""

    @property
    def at(self) -> datetime: ...

    @property
    def environments(self) -> Sequence[EnvironmentHomeView]: ...

    @property
    def pending(self) -> Sequence[Deployment]: ...

    @property
    def pending_total(self) -> int: ...

    @property
    def recent(self) -> Sequence[Deployment]: ...

    @property
    def unresolved(self) -> int: ...


_DIVIDER: Block = {"type": "divider"}


def _service_line(s: ServiceLineView, zone: ZoneInfo) -> str:
    if s.nothing_running:  # the cluster says so, as /deploy status says it
        what = "nothing running" + (stopped_note(s.stopped) if s.stopped else "")
    elif s.version is None:
        what = "version not known"
    else:  # as /deploy status says it (live_views)
        what = version_text(s.version, s.since, s.unsettled, zone, s.tag)
    if s.drift:
        what += " — ⚠️ changed outside deploybot"
    if s.version is not None and s.unreadable is not None:
        what += last_known_note(shown(s.unreadable, limit=200))
    line = f"• `{s.service}` {what}"
    if s.lock is not None:
        line += f" — {lock_note(s.lock, zone)}"  # as /deploy status says it
    return line


def service_lines(services: Sequence[ServiceLineView],
                  zone: ZoneInfo) -> list[tuple[str, int]]:
    """(line, how many services it shows): locked services first, then the others by name;
    the services whose version nobody knows yet are listed together on few lines."""
    locked = [s for s in services if s.lock is not None]
    known = [s for s in services if s.lock is None
             and (s.version is not None or s.nothing_running)]
    unknown = sorted(s.service for s in services if s.lock is None and s.version is None
                     and not s.nothing_running)
    lines = [(_service_line(s, zone), 1) for s in sorted(locked, key=lambda s: s.service)]
    lines += [(_service_line(s, zone), 1) for s in sorted(known, key=lambda s: s.service)]
    head, size = "• Version not known yet: ", 0
    chunk: list[str] = []
    for name in unknown:
        if chunk and size + len(name) > 2000:
            lines.append((head + ", ".join(chunk), len(chunk)))
            head, chunk, size = "• … ", [], 0
        chunk.append(f"`{name}`")
        size += len(name) + 4
    if chunk:
        lines.append((head + ", ".join(chunk), len(chunk)))
    return lines


def _pack(lines: Sequence[tuple[str, int]]) -> list[tuple[list[str], int]]:
    """Lines grouped into chunks that each fit one section (never splitting a line), with
    how many services each chunk shows."""
    chunks: list[tuple[list[str], int]] = []
    size = 0
    for line, count in lines:
        line = fit(line, SECTION_CHARS)
        if chunks and size + len(line) + 1 <= SECTION_CHARS:
            chunks[-1][0].append(line)
            chunks[-1] = (chunks[-1][0], chunks[-1][1] + count)
            size += len(line) + 1
        else:
            chunks.append(([line], count))
            size = len(line) + 1
    return chunks


def _share(needs: Sequence[int], room: int) -> list[int]:
    """Blocks per environment: each gets what it needs if all fit, else a fair share (at
    least 1 each while the room lasts), the rest going to those that need more."""
    given = [0] * len(needs)
    left = room
    while left > 0:
        wanting = [i for i, n in enumerate(needs) if given[i] < n]
        if not wanting:
            break
        each = max(1, left // len(wanting))
        for i in wanting:
            if left == 0:
                break
            extra = min(each, needs[i] - given[i], left)
            given[i] += extra
            left -= extra
    return given


def _pending_blocks(home: HomeView, zone: ZoneInfo) -> list[Block]:
    if not home.pending:
        return []
    blocks: list[Block] = [section(f"*⏳ Waiting for approval* ({home.pending_total})")]
    for d in home.pending[:MAX_PENDING]:
        lines = [f"*{title(d)}*"]
        if d.emergency_reason is not None:
            lines.append(f"🚨 Emergency: {reason_text(d.emergency_reason, limit=200)}")
        need = f"approvals {len(d.approvers)}/{d.approvals_required}"
        expires = f" · expires {when(d.expires_at, zone)}" if d.expires_at else ""
        lines.append(f"Requested by {who(d.requested_by)} {when(d.requested_at, zone)} · "
                     f"{need}{expires}")
        blocks.append(section("\n".join(lines)))
        blocks.append(approval_actions(d, block_id=f"{ids.HOME_APPROVAL_BLOCK}.{d.id}"))
    shown = min(len(home.pending), MAX_PENDING)
    if home.pending_total > shown:
        blocks.append(context(f"…and {home.pending_total - shown} more waiting for approval, "
                               "not shown here: their cards in the deployments channel have "
                               "the same buttons."))
    return blocks


def _recent_blocks(recent: Sequence[Deployment], zone: ZoneInfo) -> list[Block]:
    lines = [(f"*Last {len(recent)} deployments*" if recent else "*Last deployments*", 0)]
    if not recent:
        lines.append(("_None yet._", 0))
    for d in recent:
        lines.append((f"• {deployment_line(d, zone)}", 1))  # as /deploy status says it
    return [section("\n".join(chunk)) for chunk, _ in _pack(lines)][:2]


def home_view(home: HomeView, zone: ZoneInfo) -> dict[str, Any]:
    """The `home` view to publish (views.publish), within Slack's limits."""
    total_services = sum(len(e.services) for e in home.environments)
    top: list[Block] = [
        header("Deployments"),
        context(f"Updated {when(home.at, zone)} · {len(home.environments)} environment(s), "
                 f"{total_services} service deployment(s) · `/deploys` for the history, "
                 "`/freeze` for the schedule and freezes"),
    ]
    top += _pending_blocks(home, zone)
    bottom = [_DIVIDER, *_recent_blocks(home.recent, zone)]

    room = MAX_BLOCKS - len(top) - len(bottom) - NOTE_RESERVE - 1  # - the divider below
    envs = list(home.environments)
    kept_envs = envs[: max(0, room // 2)]  # each needs its window line and one section
    room -= len(kept_envs)  # the window lines
    packed = [_pack(service_lines(e.services, zone)) for e in kept_envs]
    shares = _share([max(1, len(p)) for p in packed], room)

    middle: list[Block] = [_DIVIDER]
    notes: list[str] = []
    for env, chunks, share in zip(kept_envs, packed, shares, strict=True):
        locks = [s.lock for s in env.services if s.lock is not None]
        middle.append(section(window_line(env.window, zone, locks)))
        if not env.services:
            middle.append(context("_No services deploy here._"))
            continue
        kept = [lines for lines, _ in chunks[:share]]
        cut = sum(count for _, count in chunks[share:])
        if cut:
            kept[-1] = [*kept[-1], f"…and {cut} more service(s) not shown here"]
            notes.append(f"{cut} service(s) in {env.window.environment}")
        middle += [section("\n".join(lines)) for lines in kept]
    if len(kept_envs) < len(envs):
        names = ", ".join(e.window.environment for e in envs[len(kept_envs):])
        notes.append(f"the environments {names}")

    blocks = top + middle + bottom
    footer = []
    if notes:
        footer.append(f"Not shown, to stay within Slack's limit of {MAX_BLOCKS} blocks: "
                      + "; ".join(notes) + ".")
    if home.unresolved:
        footer.append(f"{home.unresolved} running version(s) not looked up in the cluster "
                      "yet; they appear as the tab refreshes.")
    if footer:
        blocks.append(context(" ".join(footer)))
    return {"type": "home", "callback_id": ids.HOME_VIEW, "blocks": blocks[:MAX_BLOCKS]}
