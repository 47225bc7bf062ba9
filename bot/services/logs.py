"""Use cases of `/logs` (the guide's `kubectl logs`) and of the Logs button under a failed
rollout: the tail of one pod's log, read from the service's executor, posted to Slack as a
file, for the environment's log viewers; every use recorded in the audit log (`logs.read`).

- Who: `environments.<name>.logs.viewers` (default: the environment's deployers, but the
  `log_viewers` role in a production environment, whose logs can hold customer data).
- What is read: at most READ_CAP bytes a read (the cluster's `limitBytes`; a line it cut in
  the middle is dropped), the newest lines that fit (a cut read is asked again for fewer
  lines: the kubelet keeps the oldest of a tail it cuts); what is posted: at most POST_CAP
  bytes, the newest lines kept. Both cuts are said in the file's comment and the answer.
- Secrets: the whole text is redacted first (bot.redaction, the audit log's and the process
  log's redaction: a private key spanning lines is masked whole), then `--grep` keeps the
  lines containing its text in any case (so a grep never finds a secret).
- Where: the file goes into the deployment's thread when the service has a recent one
  (RECENT_THREAD) and the environment's `logs.in_thread` allows it, else to the person's DM
  with the bot; either way the answer links to it. A thread in a channel the bot is not in
  falls back to the DM, and says so.
- Executors without pods (simulated, GitHub Actions) answer plainly that `/logs` does not
  apply (bot.services.troubleshooters).
Reads take a while: callers run `read` off Slack's ack path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.config import AppConfig
from bot.config.environments import LOG_VIEWERS_ROLE
from bot.domain.audit import REDACTED
from bot.domain.deployment import Deployment
from bot.domain.log_commands import LogsArgs, LogsParsed, parse_logs
from bot.errors import Forbidden, NotFound, PermanentError
from bot.ports import Clock, Cluster, LogQuery, LogTail, Store, Troubleshooting
from bot.ports.slack import Files, NotInChannel
from bot.presentation.log_views import LogRead, file_comment
from bot.redaction import redact_secrets
from bot.services.access import Access
from bot.services.troubleshooters import DoesNotApply, troubleshooter
from bot.services.troubleshooting import Unreadable

#: The most deploybot reads of one log from the cluster (Kubernetes' limitBytes).
READ_CAP = 2_000_000
#: How many more reads a cut read may take to get the newest lines (see LogService._newest).
READ_AGAIN = 2
#: The most it posts to Slack in one file (the newest lines kept).
POST_CAP = 1_000_000
#: A deployment this recent (last change) has the thread the file goes to.
RECENT_THREAD = timedelta(hours=24)


@dataclass(frozen=True)
class LogsPosted:
    """A `/logs` answer: the file posted (`permalink`) or nothing to post (`read.lines`
    is 0)."""

    read: LogRead
    in_thread: bool
    permalink: str
    note: str | None  # e.g. why it went to the DM instead of the thread
    deployment_id: int | None  # whose thread it went to


def _cut_to_newest(lines: list[str], cap: int) -> tuple[list[str], int]:
    """The newest lines whose UTF-8 size (with newlines) is at most `cap`; how many older
    ones were left out."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line.encode("utf-8")) + 1
        if size > cap:
            break
        kept.append(line)
    kept.reverse()
    return kept, len(lines) - len(kept)


class LogService:
    def __init__(self, *, config: AppConfig, store: Store, cluster: Cluster, access: Access,
                 clock: Clock, files: Files) -> None:
        self._config = config
        self._store = store
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._files = files

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def parse(self, text: str) -> LogsParsed:
        cfg = self._config
        return parse_logs(text, environments=cfg.environments.keys(),
                          services_in={env: cfg.services_in(env) for env in cfg.environments},
                          services=cfg.services.keys())

    # -- who, where -----------------------------------------------------------------------
    def _production(self, environment: str) -> bool:
        return environment in self._config.production_environments()

    def viewers(self, environment: str) -> list[str]:
        """The roles (or ids) that may read `environment`'s logs."""
        env = self._config.environments[environment]
        if env.logs.viewers is not None:
            return list(env.logs.viewers)
        return [LOG_VIEWERS_ROLE] if self._production(environment) else list(env.deployers)

    def _in_thread(self, environment: str) -> bool:
        configured = self._config.environments[environment].logs.in_thread
        return configured if configured is not None else not self._production(environment)

    def _check_may_read(self, user_id: str, args: LogsArgs) -> None:
        env = args.environment
        roles = self.viewers(env)
        if self._access.is_member(user_id, roles):
            return
        names = ", ".join(f"`{r}`" for r in roles) or "no"
        why = (" (production logs can hold customer data)" if self._production(env)
               and self._config.environments[env].logs.viewers is None else "")
        raise Forbidden(f"You may not read the logs of `{args.service}` in {env}: that needs "
                        f"the {names} role{why}, set in `environments.{env}.logs.viewers`. "
                        "Ask a platform admin to add you in app.yaml.")

    # -- the read -------------------------------------------------------------------------
    def read(self, args: LogsArgs, *, user_id: str, slack_channel: str | None = None,
             deployment: Deployment | None = None) -> LogsPosted:
        """Read, redact, filter and post one pod's log; `deployment`: the one whose thread
        the file goes to (the Logs button), else the service's recent one, if any."""
        self._check_may_read(user_id, args)
        details: dict[str, object] = {
            "service": args.service, "environment": args.environment, "pod": args.pod,
            "previous": args.previous, "tail": args.tail, "grep": args.grep,
            "since_seconds": int(args.since.total_seconds()) if args.since else None}
        try:
            reads = troubleshooter(self._config, self._cluster, args.service, "/logs")
            try:
                tail, cut = self._newest(reads, args)
            except PermanentError as err:  # the cluster's refusal; Slack's are told as such
                raise Unreadable(f"deploybot cannot read the log of `{args.service}` in "
                                 f"{args.environment}: {err}. deploybot's own access is set "
                                 "up by the platform team (deploy/, docs/kubernetes.md).") \
                    from err
            read, text = self._prepared(args, tail, read_cut=cut)
            details |= {"pod": tail.pod, "container": tail.container,
                        "lines_read": read.read_lines, "lines": read.lines,
                        "cut": read.read_cut or read.posted_cut_lines > 0,
                        "masked": read.masked}
            posted = self._post(args, read, text, user_id=user_id, deployment=deployment)
        except DoesNotApply:
            self._record(user_id, slack_channel, details | {"ok": True, "applies": False})
            raise
        except Exception as err:
            self._record(user_id, slack_channel, details | {"ok": False,
                                                            "error": str(err)[:500]})
            raise
        self._record(user_id, slack_channel, details | {
            "ok": True, "posted": read.lines > 0,
            "in_thread": posted.in_thread, "thread_of": posted.deployment_id})
        return posted

    @staticmethod
    def _newest(reads: Troubleshooting, args: LogsArgs) -> tuple[LogTail, bool]:
        """The newest lines of the tail asked for that fit in READ_CAP. The kubelet cuts a
        tail longer than `limitBytes` at its start (its oldest lines, LimitWriter in
        pkg/kubelet/kuberuntime/logs), so when a read comes back cut, it is asked again for
        as many lines as fitted, from the newest end, on the same pod and container (at
        most READ_AGAIN more reads of READ_CAP each). True with it: the cluster had more of
        the tail asked for than deploybot read."""
        query = LogQuery(pod=args.pod, previous=args.previous, since=args.since,
                         tail=args.tail, limit_bytes=READ_CAP)
        tail = reads.logs(args.environment, args.service, query)
        cut = tail.truncated
        for _ in range(READ_AGAIN):
            fitted = tail.text.count("\n")  # whole lines; the last one may be cut
            if not tail.truncated or fitted < 1 or 0 < query.tail <= fitted:
                break
            query = replace(query, pod=tail.pod, container=tail.container, tail=fitted)
            tail = reads.logs(args.environment, args.service, query)
        return tail, cut

    def read_for_deployment(self, deployment_id: int, *, user_id: str,
                            slack_channel: str | None = None) -> LogsPosted:
        """`/logs` for a deployment's environment and service, into its thread (the Logs
        button under a failed rollout): the least healthy pod's last lines."""
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"There is no deployment #{deployment_id}.")
        return self.read(LogsArgs(d.environment, d.service), user_id=user_id,
                         slack_channel=slack_channel, deployment=d)

    def _prepared(self, args: LogsArgs, tail: LogTail, *,
                  read_cut: bool) -> tuple[LogRead, str]:
        """The text to post (redacted, filtered, cut) and what was done to it."""
        raw = tail.text
        if tail.truncated and not raw.endswith("\n"):
            # cut mid-line at the byte limit: the partial line goes (half a secret would
            # not look like one to the redaction)
            raw = raw[:raw.rfind("\n") + 1]
        redacted = redact_secrets(raw, REDACTED)
        masked = redacted.count(REDACTED) - raw.count(REDACTED)
        lines = redacted.splitlines()
        read_lines = len(raw.splitlines())
        if args.grep is not None:
            needle = args.grep.casefold()
            lines = [line for line in lines if needle in line.casefold()]
        kept, cut = _cut_to_newest(lines, POST_CAP)
        read = LogRead(
            environment=args.environment, service=args.service, pod=tail.pod,
            container=tail.container, previous=tail.previous, tail=args.tail,
            since_seconds=int(args.since.total_seconds()) if args.since else None,
            grep=args.grep, read_lines=read_lines, lines=len(kept),
            read_cut=read_cut, read_cap=READ_CAP, posted_cut_lines=cut,
            post_cap=POST_CAP, masked=masked)
        return read, "".join(f"{line}\n" for line in kept)

    def _thread_of(self, args: LogsArgs, at: datetime) -> Deployment | None:
        """The service's most recent deployment there with a Slack thread, when recent."""
        with self._store.transaction() as r:
            recent = r.deployments.history(limit=5, environment=args.environment,
                                           service=args.service)
        for d in recent:
            if d.instance is not None or not d.channel or not d.message_ts:
                continue
            last = d.updated_at or d.finished_at or d.requested_at
            return d if at - last <= RECENT_THREAD else None
        return None

    def _post(self, args: LogsArgs, read: LogRead, text: str, *, user_id: str,
              deployment: Deployment | None) -> LogsPosted:
        if not read.lines:
            return LogsPosted(read, in_thread=False, permalink="", note=None,
                              deployment_id=None)
        suffix = "-previous" if read.previous else ""
        upload = {"filename": f"{read.service}-{read.environment}-{read.pod}{suffix}.log",
                  "title": f"{read.service} in {read.environment}: {read.pod} "
                           f"({read.container}{', previous run' if read.previous else ''})",
                  "content": text, "initial_comment": file_comment(read, user_id)}
        note = None
        if self._in_thread(args.environment):
            d = deployment or self._thread_of(args, self._clock.now())
            if d is not None and d.channel and d.message_ts:
                try:
                    link = self._files.upload(channel=d.channel, thread_ts=d.message_ts,
                                              **upload)
                    return LogsPosted(read, in_thread=True, permalink=link, note=None,
                                      deployment_id=d.id)
                except NotInChannel:
                    note = (f"deploybot is not in the channel of deployment #{d.id}'s thread "
                            "(invite it there), so the file came to you instead.")
        elif deployment is not None:
            note = (f"Logs of {args.environment} go only to the person who asked "
                    f"(`environments.{args.environment}.logs.in_thread`), not into the "
                    "deployment's thread.")
        link = self._files.upload(channel=user_id, **upload)
        return LogsPosted(read, in_thread=False, permalink=link, note=note, deployment_id=None)

    def _record(self, user_id: str, slack_channel: str | None,
                details: dict[str, object]) -> None:
        with self._store.transaction() as r:
            r.audit.record("logs.read", actor=user_id, at=self._clock.now(),
                           slack_channel=slack_channel,
                           environment=str(details["environment"]), details=details)
