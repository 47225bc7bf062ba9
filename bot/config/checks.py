"""The checks across app.yaml's sections, run once every section is valid on its own:
every name one section uses must exist in another (roles named by deployers and
approvers, environments named by services, freezes, promotion gates, GitHub targets,
checklist rules), and each executor's settings must fit it. Each failure is a ValueError
"key: reason" that `parse_config` turns into a ConfigError at that key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.base import _SLACK_ID
from bot.config.flags import check_flags
from bot.config.freezes import HolidayCheck
from bot.config.kubernetes import k8s_name_problem

if TYPE_CHECKING:
    from bot.config.app import AppConfig
    from bot.config.environments import ApprovalConfig, EmergencyConfig


def check_references(cfg: AppConfig, *, holidays: HolidayCheck | None = None) -> None:
    """Raises ValueError("key: reason") at the first problem. `holidays`: checks each
    `freezes.holidays` entry against the holiday calendar (None: not checked)."""
    if not cfg.environments:
        raise ValueError("environments: define at least one environment")
    if not cfg.services:
        raise ValueError("services: define at least one service")
    refs: list[tuple[str, str]] = []
    for env_name, env in cfg.environments.items():
        refs += [(f"environments.{env_name}.deployers", r) for r in env.deployers]
        if env.approval:
            refs += [(f"environments.{env_name}.approval.approvers", r)
                     for r in env.approval.approvers]
        refs += [(f"environments.{env_name}.logs.viewers", r)
                 for r in env.logs.viewers or ()]  # the default is no written ref
    # Defaults name roles a team may not have: then nobody holds them. Only refs written
    # in the file must exist.
    if "approvers" in cfg.emergency.model_fields_set:
        refs += [("emergency.approvers", r) for r in cfg.emergency.approvers]
    if "managers" in cfg.freezes.model_fields_set:
        refs += [("freezes.managers", r) for r in cfg.freezes.managers]
    if "viewers" in cfg.audit.model_fields_set:
        refs += [("audit.viewers", r) for r in cfg.audit.viewers]
    for field, ref in refs:
        if ref not in cfg.roles and not _SLACK_ID.match(ref):
            raise ValueError(
                f"{field}: {ref!r} is neither a role in roles nor a Slack user/group id"
            )
    _check_freezes(cfg, holidays)
    for env_name, env in cfg.environments.items():
        if env.promote_from is None:
            continue
        if env.promote_from == env_name:
            raise ValueError(f"environments.{env_name}.promote_from: an environment "
                             "cannot promote from itself")
        if env.promote_from not in cfg.environments:
            raise ValueError(f"environments.{env_name}.promote_from: unknown environment "
                             f"{env.promote_from!r}")
    for svc_name, svc in cfg.services.items():
        for env_name in svc.environments or []:
            if env_name not in cfg.environments:
                raise ValueError(
                    f"services.{svc_name}.environments: unknown environment {env_name!r}"
                )
    _check_kubernetes(cfg)
    _check_actions(cfg)
    _check_migrations(cfg)
    _check_github(cfg)
    _check_checklist(cfg)
    check_flags(cfg)


def approver_warnings(cfg: AppConfig) -> list[str]:
    """What `deploybot check-config` warns about, without failing: an approval rule whose
    approvers, counted as the user ids app.yaml lists, are fewer than the approvals it needs
    (+1 when self-approval is off: one of them may be the requester, whose request nobody
    else could approve; deploybot refuses such a request when it is made). User groups (S…)
    are resolved in Slack at run time: not counted here, and the warning says so."""
    rules: list[tuple[str, ApprovalConfig | EmergencyConfig]] = [
        (f"environments.{n}.approval", e.approval) for n, e in cfg.environments.items()
        if e.approval is not None]
    em = cfg.emergency
    if "approvers" in em.model_fields_set or any(r in cfg.roles for r in em.approvers):
        rules.append(("emergency", em))  # the default names a role a team may not have
    out: list[str] = []
    for key, rule in rules:
        ids = [i for r in rule.approvers for i in cfg.roles.get(r, [r])]
        users = sorted({i for i in ids if not i.startswith("S")})
        groups = sorted({i for i in ids if i.startswith("S")})
        needed = rule.required + (0 if rule.allow_self_approval else 1)
        if len(users) >= needed:
            continue
        roles = ", ".join(f"roles.{r}" if r in cfg.roles else f"{key}.approvers"
                          for r in dict.fromkeys(rule.approvers))
        what = (f"{key}.approvers: {len(users)} user id(s) ({', '.join(users) or 'none'}) "
                f"for {rule.required} approval(s)")
        why = ("" if rule.allow_self_approval else
               f" with self-approval off ({key}.allow_self_approval: false): a request "
               "by one of them cannot be approved (deploybot refuses it when it is made)")
        fix = f"; add approvers to {roles}"
        if groups:
            fix = (f"; user groups {', '.join(groups)} are resolved in Slack at run time, "
                   f"not checked offline{fix} if they hold too few")
        out.append(what + why + fix)
    return out


def _check_freezes(cfg: AppConfig, holidays: HolidayCheck | None) -> None:
    def envs(key: str, names: list[str] | None) -> None:
        for n in names or []:
            if n not in cfg.environments:
                raise ValueError(f"{key}.environments: unknown environment {n!r}")

    for i, w in enumerate(cfg.freezes.windows):
        key = f"freezes.windows.{i}"
        envs(key, w.environments)
        for s in w.services or []:
            if s not in cfg.services:
                raise ValueError(f"{key}.services: unknown service {s!r}")
        try:
            cfg.freeze_window(w)
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from None
    for i, h in enumerate(cfg.freezes.holidays):
        key = f"freezes.holidays.{i}"
        envs(key, h.environments)
        if holidays is None:
            continue
        try:
            holidays(h.country, h.subdivision, h.names, h.language)
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from None
    if cfg.freezes.black_friday_cyber_monday is not None:
        envs("freezes.black_friday_cyber_monday",
             cfg.freezes.black_friday_cyber_monday.environments)


def _check_kubernetes(cfg: AppConfig) -> None:
    for env_name in cfg.kubernetes.contexts:
        if env_name not in cfg.environments:
            raise ValueError(f"kubernetes.contexts: unknown environment {env_name!r}")
    if cfg.kubernetes.in_cluster and cfg.kubernetes.contexts:
        raise ValueError("kubernetes.contexts: kubeconfig contexts are not used when "
                         "kubernetes.in_cluster is true; remove one of them")
    for svc_name, svc in cfg.services.items():
        key = f"services.{svc_name}.kubernetes"
        k8s = svc.kubernetes
        if svc.executor != "kubernetes":
            if k8s is not None:
                raise ValueError(f"{key}: only used with executor: kubernetes "
                                 f"(services.{svc_name}.executor is {svc.executor})")
            continue
        if k8s is None or k8s.image is None:
            raise ValueError(f"{key}.image: required with executor: kubernetes "
                             "(e.g. image: ghcr.io/acme/api:{version})")
        for env_name in k8s.namespaces:
            if env_name not in cfg.environments:
                raise ValueError(f"{key}.namespaces: unknown environment {env_name!r}")
        if k8s.deployment is None and (problem := k8s_name_problem(svc_name, subdomain=True)):
            raise ValueError(f"{key}.deployment: the default (the service name) does not "
                             f"work: {problem}")
        if k8s.containers is None and (problem := k8s_name_problem(svc_name)):
            raise ValueError(f"{key}.containers: the default (the service name) does not "
                             f"work: {problem}")
        for env_name in svc.environments or list(cfg.environments):
            if env_name not in k8s.namespaces and (problem := k8s_name_problem(env_name)):
                raise ValueError(f"{key}.namespaces: the default for {env_name} (its name) "
                                 f"does not work: {problem}")


def _check_actions(cfg: AppConfig) -> None:
    for svc_name, svc in cfg.services.items():
        key = f"services.{svc_name}"
        actions = svc.github.actions if svc.github is not None else None
        if svc.executor != "github-actions":
            if actions is not None:
                raise ValueError(f"{key}.github.actions: only used with executor: "
                                 f"github-actions ({key}.executor is {svc.executor})")
            continue
        if svc.github is None:
            raise ValueError(f"{key}.github.repository: required with executor: "
                             "github-actions (the repository whose workflow deploys it)")
        if actions is None:
            raise ValueError(f"{key}.github.actions: required with executor: "
                             "github-actions (e.g. workflow: deploy.yml)")
        if svc.migrations is not None:
            raise ValueError(f"{key}.migrations: not run with executor: github-actions "
                             "(deploybot runs migrations as Kubernetes Jobs); run them "
                             "in the workflow instead")


def _check_migrations(cfg: AppConfig) -> None:
    for svc_name, svc in cfg.services.items():
        m = svc.migrations
        if m is None:
            continue
        key = f"services.{svc_name}.migrations"
        if m.backup is not None:
            for env_name in m.backup.environments or []:
                if env_name not in cfg.environments:
                    raise ValueError(f"{key}.backup.environments: unknown environment "
                                     f"{env_name!r}")
        for env_name in m.backup_required_in:
            if env_name not in cfg.environments:
                raise ValueError(f"{key}.backup_required_in: unknown environment "
                                 f"{env_name!r}")
            if m.backup is None:
                raise ValueError(f"{key}.backup_required_in: {env_name} requires a backup "
                                 f"before migrating, but {key}.backup.command is not set")
            if not m.backup.runs_in(env_name):
                raise ValueError(f"{key}.backup_required_in: {env_name} requires a backup "
                                 f"before migrating, but {key}.backup.environments does "
                                 f"not include it")


def _check_github(cfg: AppConfig) -> None:
    for svc_name, svc in cfg.services.items():
        if svc.github is None:
            continue
        key = f"services.{svc_name}.github"
        targets = [(f"{key}.auto_deploy.{b}", e) for b, e in svc.github.auto_deploy.items()]
        prs = svc.github.pull_requests
        if prs is not None:
            targets.append((f"{key}.pull_requests"
                            + (".environment" if prs.per_pr else ""), prs.environment))
        for field, env_name in targets:
            if env_name not in cfg.environments:
                raise ValueError(f"{field}: unknown environment {env_name!r}")
            if svc.environments is not None and env_name not in svc.environments:
                raise ValueError(f"{field}: {svc_name} does not deploy to {env_name} "
                                 f"(services.{svc_name}.environments)")
        actions = svc.github.actions
        if (svc.github.per_pr and svc.executor == "github-actions"
                and actions is not None
                and not any("{instance}" in v for v in actions.inputs.values())):
            raise ValueError(f"{key}.pull_requests.per_pr: the workflow must be told the "
                             "preview to deploy: give one of "
                             f"{key}.actions.inputs the placeholder {{instance}} (e.g. "
                             "instance: \"{instance}\"; empty for the main instance)")


def _check_checklist(cfg: AppConfig) -> None:
    for env_name, env in cfg.environments.items():
        if env.checklist_attestation == "approver" and env.approval is None:
            raise ValueError(f"environments.{env_name}.checklist_attestation: approver "
                             f"needs environments.{env_name}.approval (nobody approves "
                             "deploys there, so nobody would attest the checklist)")
    if cfg.checklist is None:
        return
    for item, envs in cfg.checklist.required_in.items():
        if item not in cfg.checklist.items:
            raise ValueError(f"checklist.required_in.{item}: {item} is not in "
                             "checklist.items")
        for env_name in envs:
            if env_name not in cfg.environments:
                raise ValueError(f"checklist.required_in.{item}: unknown environment "
                                 f"{env_name!r}")
