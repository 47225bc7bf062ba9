"""The setup checks `deploybot doctor` runs (bot.doctor composes and prints them): is
everything the bot needs there, reachable and allowed?

Owns the checks after the configuration has loaded, each a `Check` (passed or not, what was
found, and for a failure the fix): the database schema against the code's head, the Slack
token (auth.test), its scopes against the ones the bot needs, the bot's membership of every
channel it posts to (the most common setup failure), the Kubernetes permissions of every
environment a service on the Kubernetes executor deploys to, and GitHub access to every
service repository. Everything is asked through ports; a check that cannot ask says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bot.config import AppConfig
from bot.errors import DeploybotError, NotFound, PermanentError, RetryableError
from bot.ports import (
    ClusterAccess,
    FlagStorage,
    RepositoryAccess,
    SchemaStatus,
    SlackAccess,
    SlackIdentity,
)

UPGRADE_COMMAND = "deploybot db upgrade"
MANIFEST = "slack-manifest.yaml"
RBAC = "deploy/kubernetes/base/rbac.yaml"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def passed(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, detail, fix)


class SetupChecks:
    """`config` None: app.yaml did not load (the caller reports that), so only the checks
    that do not need it run. `slack` None: there is no bot token to ask with."""

    def __init__(self, *, config: AppConfig | None, schema: SchemaStatus,
                 slack: SlackAccess | None, scopes: frozenset[str],
                 clusters: ClusterAccess | None = None,
                 github: RepositoryAccess | None = None) -> None:
        self._config = config
        self._schema = schema
        self._slack = slack
        self._scopes = scopes
        self._clusters = clusters
        self._github = github

    def run(self) -> list[Check]:
        return [self.database(), *self.slack(), *self.kubernetes(), *self.github()]

    # -- database ------------------------------------------------------------------------
    def database(self) -> Check:
        name = "database"
        try:
            current, head = self._schema.revisions()
        except RetryableError as e:
            return failed(name, str(e), "check DATABASE_URL and that the database server "
                                        "is running and reachable from here")
        if current is None:
            return failed(name, f"no schema yet (this deploybot needs revision {head})",
                          f"run `{UPGRADE_COMMAND}`")
        if current != head:
            return failed(name, f"at revision {current}, but this deploybot needs {head}",
                          f"run `{UPGRADE_COMMAND}` (or start with `deploybot run --migrate`)")
        return passed(name, f"reachable, schema at head ({head})")

    # -- Slack ---------------------------------------------------------------------------
    def slack(self) -> list[Check]:
        if self._slack is None:
            return [failed("Slack token", "SLACK_BOT_TOKEN is not set",
                           "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-…, "
                           "on the app's OAuth & Permissions page)")]
        try:
            me = self._slack.identity()
        except RetryableError as e:
            return [failed("Slack token", str(e), "check the network (and SLACK_API_URL, "
                                                  "if set); then run the doctor again")]
        except PermanentError as e:
            return [failed("Slack token", f"Slack refused it: {e}",
                           "set SLACK_BOT_TOKEN to the current Bot User OAuth Token (xoxb-…) "
                           "of the installed app (reinstalling the app issues a new one)")]
        checks = [passed("Slack token", f"valid: bot @{me.user} in workspace {me.team}"),
                  self._scope_check(me)]
        if self._config is not None:
            checks += [self._channel_check(me, ch) for ch in self._channels()]
        return checks

    def _scope_check(self, me: SlackIdentity) -> Check:
        name = "Slack scopes"
        if me.scopes is None:
            return failed(name, "Slack did not list the token's scopes (no X-OAuth-Scopes "
                                "header)", f"compare OAuth & Permissions with {MANIFEST}")
        missing = sorted(self._scopes - me.scopes)
        if missing:
            return failed(name, f"the token lacks {', '.join(missing)}",
                          "add them under OAuth & Permissions → Bot Token Scopes (or update "
                          f"the app from {MANIFEST}), then reinstall the app to the workspace")
        return passed(name, f"the token has all {len(self._scopes)} the bot needs "
                            f"({', '.join(sorted(self._scopes))})")

    def _channels(self) -> list[str]:
        assert self._config is not None
        return [self._config.slack.deployments_channel]

    def _channel_check(self, me: SlackIdentity, channel: str) -> Check:
        name = f"Slack channel {channel}"
        invite = f"invite the bot: type `/invite @{me.user}` in {channel}"
        try:
            member = self._assert_slack().is_member(channel)
        except NotFound as e:
            return failed(name, e.message, "check slack.deployments_channel in app.yaml; "
                                           f"a private channel: {invite}")
        except (RetryableError, PermanentError) as e:
            return failed(name, f"cannot tell whether the bot is in it: {e}",
                          "see the Slack scopes check above")
        if not member:
            return failed(name, "the bot is not a member, so it cannot post there", invite)
        return passed(name, "the bot is a member")

    def _assert_slack(self) -> SlackAccess:
        assert self._slack is not None
        return self._slack

    # -- Kubernetes ----------------------------------------------------------------------
    def kubernetes(self) -> list[Check]:
        config = self._config
        if config is None:
            return []
        targets: dict[tuple[str, str], list[str]] = {}
        for svc_name, svc in config.services.items():
            if svc.executor != "kubernetes" or svc.kubernetes is None:
                continue
            for env in svc.environments or list(config.environments):
                targets.setdefault((env, svc.kubernetes.namespace(env)), []).append(svc_name)
        checks: list[Check] = []
        for (env, namespace), services in targets.items():
            name = f"Kubernetes {env} (namespace {namespace}: {', '.join(services)})"
            if self._clusters is None:
                checks.append(failed(name, "no Kubernetes access was set up",
                                     "see `kubernetes:` in app.yaml"))
                continue
            checks.append(self._ask(name, partial(self._rbac, env, namespace)))
        for env, source in config.flags.items():
            if source.flagd is None:
                continue
            storage: FlagStorage = ("feature_flag" if source.flagd.feature_flag is not None
                                    else "configmap")
            where = source.flagd.feature_flag or source.flagd.configmap
            assert where is not None  # exactly one of the two (bot.config.flags)
            name = f"Feature flags {env} ({storage.replace('_', ' ')} {where.namespace}/" \
                   f"{where.name})"
            if self._clusters is None:
                checks.append(failed(name, "no Kubernetes access was set up",
                                     "see `kubernetes:` in app.yaml"))
                continue
            checks.append(self._ask(name, partial(self._flag_rbac, name, env,
                                                  where.namespace, storage)))
        return checks

    def _flag_rbac(self, name: str, environment: str, namespace: str,
                   storage: FlagStorage) -> Check:
        assert self._clusters is not None
        denied = self._clusters.denied_flags(environment, namespace, storage)
        if denied:
            return failed(name, f"deploybot may not {'; '.join(denied)}",
                          f"grant them to deploybot's service account or user with a Role and "
                          f"RoleBinding in namespace {namespace} (see {RBAC})")
        return passed(name, "deploybot may read and change the flags there")

    def _rbac(self, environment: str, namespace: str) -> Check:
        assert self._clusters is not None
        name = f"Kubernetes {environment} (namespace {namespace})"
        denied = self._clusters.denied(environment, namespace)
        if denied:
            return failed(name, f"deploybot may not {'; '.join(denied)}",
                          f"grant them to deploybot's service account or user with a Role and "
                          f"RoleBinding in namespace {namespace} (see {RBAC})")
        return passed(name, "every permission the Kubernetes executor uses is granted")

    @staticmethod
    def _ask(name: str, fn: Callable[[], Check]) -> Check:
        try:
            found = fn()
        except RetryableError as e:
            return failed(name, str(e), "check that the cluster's API server is reachable "
                                        "from here")
        except (PermanentError, DeploybotError) as e:
            return failed(name, str(e), "check `kubernetes:` in app.yaml (in_cluster, "
                                        "contexts) and KUBECONFIG")
        return Check(name, found.ok, found.detail, found.fix)

    # -- GitHub --------------------------------------------------------------------------
    def github(self) -> list[Check]:
        config = self._config
        if config is None:
            return []
        repositories = sorted({svc.github.repository for svc in config.services.values()
                               if svc.github is not None})
        checks: list[Check] = []
        for repository in repositories:
            name = f"GitHub {repository}"
            if self._github is None:
                checks.append(failed(name, "no GitHub access was set up", "set GITHUB_TOKEN"))
                continue
            try:
                self._github.check(repository)
            except NotFound as e:
                checks.append(failed(name, e.message, "check the repository's name in "
                                     "app.yaml, and that GITHUB_TOKEN can read it"))
            except RetryableError as e:
                checks.append(failed(name, str(e), "check the network and GITHUB_API_URL"))
            except PermanentError as e:
                checks.append(failed(name, str(e), "set GITHUB_TOKEN to a token that can "
                                     f"read {repository} (fine-grained: Contents read, "
                                     "Deployments write)"))
            else:
                checks.append(passed(name, "the token is valid and can see the repository"))
        return checks
