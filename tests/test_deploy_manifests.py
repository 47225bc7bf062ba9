"""deploy/: the manifests that run deploybot in a cluster fit together and fit the code.

deploy/kubernetes is a kustomize base (`base/`) and an overlay per install
(`overlays/staging`, `overlays/production`). Every YAML is parsed (multi-document). The
checks on the base: kinds and names line up (ServiceAccount, RoleBindings, Deployment,
Service, ConfigMap, kustomization), the probes hit /healthz (liveness) and /readyz
(readiness) on the container's port and those routes exist in bot/web.py, the ConfigMap's
app.yaml is a valid config, the Dockerfile runs `deploybot run` as a non-root user, and the
RBAC rules grant exactly what bot/backends/kubernetes/ needs: the Kubernetes client methods
its modules reference are read from their source (AST) and mapped to (verb, resource) by
`CLIENT_METHODS`, and `REQUIRED_ACCESS` (what `deploybot doctor` asks about) is the same set.
Two Deployments, one per role (`deploybot run --role web|worker`, bot.roles), same image,
same service account: the Service selects the web pods only, both have the probes.
On the overlays: their files and patches point at what exists, replicas per role, production
runs two of each with a PodDisruptionBudget per role and a HorizontalPodAutoscaler for web,
and secrets are referenced, never inlined. Then each overlay is
rendered by the real kustomize (`kubectl kustomize`, skipped where kubectl is not installed)
and the rendered objects are checked again.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.backends.kubernetes import REQUIRED_ACCESS
from bot.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUSTOMIZE = DEPLOY / "kubernetes"
MANIFESTS = KUSTOMIZE / "base"
OVERLAYS = KUSTOMIZE / "overlays"
#: Replicas per overlay and role (production's web: the HPA's minimum, it may add more).
REPLICAS = {"staging": {"web": 1, "worker": 1}, "production": {"web": 2, "worker": 2}}
ROLES = ("web", "worker")
COMPONENT = "app.kubernetes.io/component"
BACKEND = ROOT / "bot" / "backends" / "kubernetes"  # the package: every module of it
WEB = ROOT / "bot" / "web.py"
IMAGE = "ghcr.io/acme/deploybot"

BOT_NAMESPACE = "deploybot"
SERVICE_ACCOUNT = "deploybot"
TARGET_NAMESPACES = ("staging", "production")
SECRET = "deploybot-secrets"
SECRET_KEYS = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"}


def secret_keys(role: str) -> set[str]:
    """A worker answers no Slack request: no signing secret (bot.settings.require_slack)."""
    return SECRET_KEYS - ({"SLACK_SIGNING_SECRET"} if role == "worker" else set())
CONFIG_PATH = "/etc/deploybot/app.yaml"
PORT = 3000

Permission = tuple[str, str]  # (verb, resource as "plural[/sub].group")

#: Kubernetes client methods (AppsV1Api, CoreV1Api, BatchV1Api, CustomObjectsApi) -> what
#: RBAC they need.
#: A `list_*` method passed to `watch.Watch().stream()` needs `watch` instead of `list`.
CLIENT_METHODS: dict[str, Permission] = {
    "read_namespaced_deployment": ("get", "deployments.apps"),
    "list_namespaced_deployment": ("list", "deployments.apps"),
    "patch_namespaced_deployment": ("patch", "deployments.apps"),
    "create_namespaced_deployment": ("create", "deployments.apps"),
    "delete_namespaced_deployment": ("delete", "deployments.apps"),
    "replace_namespaced_deployment": ("update", "deployments.apps"),
    "read_namespaced_deployment_status": ("get", "deployments/status.apps"),
    "read_namespaced_replica_set": ("get", "replicasets.apps"),
    "list_namespaced_replica_set": ("list", "replicasets.apps"),
    "read_namespaced_pod": ("get", "pods"),
    "list_namespaced_pod": ("list", "pods"),
    "read_namespaced_pod_log": ("get", "pods/log"),
    "list_namespaced_event": ("list", "events"),
    "delete_namespaced_pod": ("delete", "pods"),
    "create_namespaced_job": ("create", "jobs.batch"),
    "read_namespaced_job": ("get", "jobs.batch"),
    "read_namespaced_job_status": ("get", "jobs/status.batch"),
    "list_namespaced_job": ("list", "jobs.batch"),
    "delete_namespaced_job": ("delete", "jobs.batch"),
    "patch_namespaced_job": ("patch", "jobs.batch"),
    # feature flags (bot/backends/kubernetes/flags.py): flagd's ConfigMap, and the only
    # custom resource deploybot reads or writes, the OpenFeature Operator's FeatureFlag
    "read_namespaced_config_map": ("get", "configmaps"),
    "replace_namespaced_config_map": ("update", "configmaps"),
    "get_namespaced_custom_object": ("get", "featureflags.core.openfeature.dev"),
    "replace_namespaced_custom_object": ("update", "featureflags.core.openfeature.dev"),
}

#: What the Role in each target namespace grants: exactly this, no more, no less.
EXPECTED_RULES: frozenset[Permission] = frozenset({
    ("get", "deployments.apps"), ("list", "deployments.apps"),
    ("watch", "deployments.apps"), ("patch", "deployments.apps"),
    ("create", "deployments.apps"), ("delete", "deployments.apps"),  # per-PR previews
    ("list", "replicasets.apps"),
    ("get", "pods"), ("list", "pods"),
    ("get", "pods/log"),
    ("list", "events"),  # /events (the troubleshooting commands)
    ("create", "jobs.batch"), ("get", "jobs.batch"), ("list", "jobs.batch"),
    ("watch", "jobs.batch"),
    ("get", "featureflags.core.openfeature.dev"), ("update", "featureflags.core.openfeature.dev"),
    ("get", "configmaps"), ("update", "configmaps"),  # feature flags (flags.<env>.flagd)
})

#: Granted ahead of the migration Jobs step (issue 4), which is landing in the backend:
#: the only rules the backend may not use yet. Shrink this as it lands.
FOR_MIGRATIONS: frozenset[Permission] = frozenset({
    ("get", "pods"), ("get", "pods/log"),
    ("create", "jobs.batch"), ("get", "jobs.batch"), ("list", "jobs.batch"),
    ("watch", "jobs.batch"),
})

_API_METHOD = re.compile(
    r"^(read|get|list|patch|replace|create|delete|watch|connect)_(namespaced_)?[a-z_]+$"
)


# -- loading ------------------------------------------------------------------------------

def _documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
                yield path.name, doc


@pytest.fixture(scope="module")
def docs() -> list[tuple[str, dict[str, Any]]]:
    return list(_documents())


def _of_kind(docs: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [d for _, d in docs if d.get("kind") == kind]


def _one(docs: list[tuple[str, dict[str, Any]]], kind: str) -> dict[str, Any]:
    found = _of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _deployment(docs: list[tuple[str, dict[str, Any]]], role: str) -> dict[str, Any]:
    (found,) = [d for d in _of_kind(docs, "Deployment")
                if d["metadata"]["name"] == f"deploybot-{role}"]
    return found


def _pod_spec(docs: list[tuple[str, dict[str, Any]]], role: str = "web") -> dict[str, Any]:
    spec: dict[str, Any] = _deployment(docs, role)["spec"]["template"]["spec"]
    return spec


def _container(docs: list[tuple[str, dict[str, Any]]], role: str = "web") -> dict[str, Any]:
    (container,) = _pod_spec(docs, role)["containers"]
    return dict(container)


# -- the backend's API calls ------------------------------------------------------------

def backend_calls(source: Path = BACKEND) -> set[tuple[str, bool]]:
    """(client method, watched?) for every Kubernetes API method the backend (a module, or
    every module of a package) references: `x.apps.read_namespaced_deployment` passed to
    `call()` (False), or to `Watch().stream()` (True), directly or through a keyword
    parameter of the function that streams (in another module of the package too). A method
    used both ways appears twice."""
    files = sorted(source.glob("*.py")) if source.is_dir() else [source]
    tree = ast.Module(body=[node for f in files
                            for node in ast.parse(f.read_text(encoding="utf-8")).body],
                      type_ignores=[])
    streamed: set[int] = set()  # id() of the method nodes that end up in .stream()
    relays: set[tuple[str, str]] = set()  # (function, parameter) passed on to .stream()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        params = {a.arg for a in [*func.args.args, *func.args.kwonlyargs]}
        for node in ast.walk(func):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "stream" and node.args):
                for part in ast.walk(node.args[0]):  # `list_fn or t.api.apps.list_...`
                    if isinstance(part, ast.Attribute):
                        streamed.add(id(part))
                    elif isinstance(part, ast.Name) and part.id in params:
                        relays.add((func.name, part.id))
    for node in ast.walk(tree):  # `self._watch(t, rv, list_fn=t.api.batch.list_namespaced_job)`
        if not isinstance(node, ast.Call):
            continue
        callee = (node.func.attr if isinstance(node.func, ast.Attribute)
                  else node.func.id if isinstance(node.func, ast.Name) else None)
        for kw in node.keywords:
            if callee is not None and (callee, kw.arg) in relays:
                streamed.update(id(part) for part in ast.walk(kw.value)
                                if isinstance(part, ast.Attribute))
    found: set[tuple[str, bool]] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and node.value.attr in ("apps", "core", "batch", "custom")
                and _API_METHOD.match(node.attr)):
            found.add((node.attr, id(node) in streamed))
    return found


def permissions_used(source: Path = BACKEND) -> set[Permission]:
    used: set[Permission] = set()
    for method, watched in backend_calls(source):
        assert method in CLIENT_METHODS, (
            f"{source.name} calls {method}(), which CLIENT_METHODS does not map to an RBAC "
            "verb and resource: add it (and the rule to deploy/kubernetes/base/rbac.yaml)")
        verb, resource = CLIENT_METHODS[method]
        if watched:
            assert verb == "list", f"{method} is watched but is not a list call"
            verb = "watch"
        used.add((verb, resource))
    return used


def granted(role: dict[str, Any]) -> set[Permission]:
    out: set[Permission] = set()
    for rule in role.get("rules") or []:
        assert not rule.get("resourceNames"), "rules are per resource, not per object"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert "*" not in (group, resource, verb), f"wildcard in {rule}"
                    plural, _, sub = resource.partition("/")
                    name = plural + (f"/{sub}" if sub else "")
                    out.add((verb, f"{name}.{group}" if group else name))
    return out


# -- tests --------------------------------------------------------------------------------

def test_every_manifest_parses_and_names_a_kind(docs: list[tuple[str, dict[str, Any]]]) -> None:
    kinds = sorted(str(d.get("kind")) for _, d in docs)
    assert kinds == sorted(["Namespace", "ServiceAccount", "Role", "RoleBinding", "Role",
                            "RoleBinding", "ConfigMap", "Deployment", "Deployment",
                            "Service", "Kustomization"])
    for name, doc in docs:
        assert doc.get("apiVersion"), name
        if doc["kind"] not in ("Kustomization",):
            assert doc["metadata"].get("name"), name


def test_kustomization_lists_every_manifest(docs: list[tuple[str, dict[str, Any]]]) -> None:
    (kustomization,) = _of_kind(docs, "Kustomization")
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_namespaced_objects_live_in_the_bots_namespace(
    docs: list[tuple[str, dict[str, Any]]],
) -> None:
    assert _one(docs, "Namespace")["metadata"]["name"] == BOT_NAMESPACE
    for kind in ("ServiceAccount", "ConfigMap", "Deployment", "Service"):
        for obj in _of_kind(docs, kind):
            assert obj["metadata"]["namespace"] == BOT_NAMESPACE, kind
    assert _one(docs, "ServiceAccount")["metadata"]["name"] == SERVICE_ACCOUNT


def test_no_cluster_wide_rbac(docs: list[tuple[str, dict[str, Any]]]) -> None:
    assert not _of_kind(docs, "ClusterRole")
    assert not _of_kind(docs, "ClusterRoleBinding")


def test_a_role_and_binding_per_target_namespace_bound_to_the_service_account(
    docs: list[tuple[str, dict[str, Any]]],
) -> None:
    roles = {r["metadata"]["namespace"]: r for r in _of_kind(docs, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in _of_kind(docs, "RoleBinding")}
    assert set(roles) == set(bindings) == set(TARGET_NAMESPACES)
    for ns, binding in bindings.items():
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": roles[ns]["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT,
                                        "namespace": BOT_NAMESPACE}]


def test_rbac_grants_exactly_the_expected_rules(docs: list[tuple[str, dict[str, Any]]]) -> None:
    for role in _of_kind(docs, "Role"):
        assert granted(role) == EXPECTED_RULES, role["metadata"]["namespace"]


def test_the_doctor_asks_about_exactly_the_granted_rules() -> None:
    assert len(REQUIRED_ACCESS) == len(set(REQUIRED_ACCESS))
    assert set(REQUIRED_ACCESS) == EXPECTED_RULES


def test_rbac_covers_every_api_call_of_the_backend() -> None:
    calls = backend_calls()
    # The parser sees what the rollout needs (a guard against it silently finding nothing).
    assert ("patch_namespaced_deployment", False) in calls
    assert ("list_namespaced_deployment", True) in calls
    used = permissions_used()
    missing = used - EXPECTED_RULES
    assert not missing, f"the backend needs rules rbac.yaml does not grant: {sorted(missing)}"
    unused = EXPECTED_RULES - used - FOR_MIGRATIONS
    assert not unused, f"rbac.yaml grants rules the backend does not use: {sorted(unused)}"


def test_the_mapping_reads_a_watch_as_watch_and_flags_unknown_methods(tmp_path: Path) -> None:
    fake = tmp_path / "kubernetes.py"
    fake.write_text(
        "def f(t, w):\n"
        "    t.api.call(op, t.api.batch.create_namespaced_job, ns, body)\n"
        "    watch(t, list_fn=t.api.batch.list_namespaced_job)\n"
        "def watch(t, *, list_fn=None):\n"
        "    w.stream(list_fn or t.api.apps.list_namespaced_deployment, namespace=ns)\n"
        "    t.api.call(op, t.api.core.read_namespaced_pod_log, name, ns)\n",
        encoding="utf-8")
    assert permissions_used(fake) == {("create", "jobs.batch"), ("watch", "jobs.batch"),
                                      ("get", "pods/log"), ("watch", "deployments.apps")}
    fake.write_text("def f(t):\n    t.api.core.delete_collection_namespaced_pod(ns)\n",
                    encoding="utf-8")
    with pytest.raises(AssertionError, match="delete_collection_namespaced_pod"):
        permissions_used(fake)


def test_a_deployment_per_role_running_deploybot_in_that_role(
    docs: list[tuple[str, dict[str, Any]]],
) -> None:
    deployments = _of_kind(docs, "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == [
        f"deploybot-{role}" for role in ROLES]
    images = set()
    for role in ROLES:
        deployment = _deployment(docs, role)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels[COMPONENT] == role
        # Each Deployment selects its own role's pods only (a selector is immutable).
        assert deployment["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "deploybot", COMPONENT: role}
        container = _container(docs, role)
        # The image has no ENTRYPOINT: the command is named, the role in its args.
        assert container["command"] == ["deploybot"]
        assert container["args"][:3] == ["run", "--role", role], container["args"]
        images.add(container["image"])
    assert len(images) == 1  # the same image for both roles


@pytest.mark.parametrize("role", ROLES)
def test_the_deployment_runs_as_the_service_account_with_its_token(
    role: str, docs: list[tuple[str, dict[str, Any]]],
) -> None:
    """Both roles use the Kubernetes API (workers roll out; web pods read what runs for
    /deploy status): both run as the one service account the RoleBindings name."""
    deployment = _deployment(docs, role)
    assert deployment["spec"]["replicas"] == 1
    pod = _pod_spec(docs, role)
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT
    assert pod["automountServiceAccountToken"] is True
    for binding in _of_kind(docs, "RoleBinding"):
        assert {"kind": "ServiceAccount", "name": pod["serviceAccountName"],
                "namespace": deployment["metadata"]["namespace"]} in binding["subjects"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_service_selects_the_web_pods_only_on_their_port(
    docs: list[tuple[str, dict[str, Any]]],
) -> None:
    service = _one(docs, "Service")
    web = _deployment(docs, "web")["spec"]["template"]["metadata"]["labels"]
    worker = _deployment(docs, "worker")["spec"]["template"]["metadata"]["labels"]
    assert _selects(service["spec"]["selector"], web)
    assert not _selects(service["spec"]["selector"], worker)
    ports = {p["name"]: p["containerPort"] for p in _container(docs, "web")["ports"]}
    for port in service["spec"]["ports"]:
        target = port["targetPort"]
        assert (ports.get(target) if isinstance(target, str) else target) == PORT


PROBES = {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}


def web_routes() -> set[str]:
    """The GET paths bot/web.py serves (`Route("/x", fn, methods=[..."GET"...])`)."""
    text = WEB.read_text(encoding="utf-8")
    return {m[1] for m in re.finditer(r'Route\("([^"]+)",[^)]*methods=\[[^\]]*"GET"', text)}


def check_probes(container: dict[str, Any]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert PORT in ports.values()
    env = {e["name"]: e for e in container["env"]}
    assert env["PORT"]["value"] == str(PORT)
    routes = web_routes()
    for probe, path in PROBES.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert path in routes, f"{probe}: bot/web.py serves no GET {path}"
        port = get["port"]
        assert (ports.get(port) if isinstance(port, str) else port) == PORT, probe


@pytest.mark.parametrize("role", ROLES)
def test_probes_hit_healthz_and_readyz_on_the_container_port(
    role: str, docs: list[tuple[str, dict[str, Any]]],
) -> None:
    assert {"/healthz", "/readyz"} <= web_routes()
    check_probes(_container(docs, role))


@pytest.mark.parametrize("role", ROLES)
def test_secrets_and_config_come_from_the_secret_and_configmap(
    role: str, docs: list[tuple[str, dict[str, Any]]],
) -> None:
    container = _container(docs, role)
    env = {e["name"]: e for e in container["env"]}
    for key in secret_keys(role):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": key}
    assert ("SLACK_SIGNING_SECRET" in env) == (role == "web")
    assert env.get("DEPLOYBOT_ROLE", {}).get("value", role) == role
    assert env["DEPLOYBOT_CONFIG"]["value"] == CONFIG_PATH
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in _pod_spec(docs, role)["volumes"]}
    config_mount = mounts[CONFIG_PATH]
    assert config_mount["subPath"] == "app.yaml"
    configmap = _one(docs, "ConfigMap")
    assert volumes[config_mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]


@pytest.mark.parametrize("role", ROLES)
def test_the_pod_is_locked_down(role: str, docs: list[tuple[str, dict[str, Any]]]) -> None:
    container = _container(docs, role)
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert _pod_spec(docs, role)["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]


def test_the_configmaps_app_yaml_is_a_valid_in_cluster_kubernetes_config(
    docs: list[tuple[str, dict[str, Any]]],
) -> None:
    data = yaml.safe_load(_one(docs, "ConfigMap")["data"]["app.yaml"])
    config = parse_config(data, source="deploy/kubernetes/base/configmap.yaml")
    assert config.kubernetes.in_cluster is True
    assert any(s.executor == "kubernetes" for s in config.services.values())
    for name, service in config.services.items():
        if service.kubernetes is None:
            continue
        for env in service.environments or config.environments:
            assert service.kubernetes.namespace(env) in TARGET_NAMESPACES, (name, env)


def test_the_dockerfile_runs_deploybot_as_a_non_root_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    users = [line.split(None, 1)[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "pip install ." in text
    assert lines[-1] == 'CMD ["deploybot", "run"]'
    assert f"EXPOSE {PORT}" in lines
    assert not any(line.startswith("HEALTHCHECK") for line in lines)


def test_the_image_leaves_the_test_doubles_out() -> None:
    """The image holds the product (bot/, handlers/, migrations/), installed without extras:
    not devtools/ (the fakes, `deploybot shell`) nor what only they need."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copies = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
    copied = {source.rstrip("/") for sources in copies for source in sources}
    assert copied == {"pyproject.toml", "README.md", "bot", "handlers", "migrations"}, copied
    installs = [line.split("pip install", 1)[1].split("&&")[0].split()
                for line in text.splitlines() if "pip install" in line]
    assert installs == [["."]], installs  # no [demo], no [dev]


# -- overlays -------------------------------------------------------------------------------

def _overlay_docs(env: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((OVERLAYS / env).glob("*.yaml")):
        found = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert all(isinstance(d, dict) for d in found), path
        out[path.name] = found
    return out


def _base_objects(docs: list[tuple[str, dict[str, Any]]]) -> set[tuple[str, str, str]]:
    return {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace", ""))
            for _, d in docs if d["kind"] != "Kustomization"}


def test_there_is_an_overlay_per_install_and_nothing_else() -> None:
    assert {p.name for p in OVERLAYS.iterdir() if p.is_dir()} == set(REPLICAS)
    assert {p.name for p in KUSTOMIZE.iterdir()} == {"base", "overlays"}


@pytest.mark.parametrize("env", sorted(REPLICAS))
def test_an_overlays_files_and_patches_point_at_what_exists(
    env: str, docs: list[tuple[str, dict[str, Any]]],
) -> None:
    files = _overlay_docs(env)
    (kustomization,) = files.pop("kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert resources[0] == "../../base"
    patches = [p["path"] for p in kustomization.get("patches") or []]
    # Every other file of the overlay is a resource or a patch, and every one named exists.
    assert set(files) == set(resources[1:]) | set(patches), env
    base = _base_objects(docs)
    for patch in kustomization.get("patches") or []:
        (obj,) = files[patch["path"]]
        key = (obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"])
        assert key in base, f"{env}/{patch['path']} patches {key}, which the base lacks"
        assert patch["target"] == {"kind": obj["kind"], "name": obj["metadata"]["name"]}
    assert {p["target"]["name"] for p in kustomization.get("patches") or []} == {
        f"deploybot-{role}" for role in ROLES}, "a patch per role"
    (image,) = kustomization["images"]
    container_image = _container(docs)["image"]
    assert container_image.split(":")[0] == image["name"] == IMAGE
    assert re.fullmatch(r"\d+\.\d+\.\d+", image["newTag"]), "pin a release, not latest"
    for label in kustomization.get("labels") or []:
        assert label.get("includeSelectors") is False  # selectors are immutable: keep them


@pytest.mark.parametrize("env", sorted(REPLICAS))
def test_an_overlays_replicas_and_disruption_budgets_per_role(
    env: str, docs: list[tuple[str, dict[str, Any]]],
) -> None:
    files = _overlay_docs(env)
    found = [d for objs in files.values() for d in objs]
    pdbs = {d["metadata"]["name"]: d for d in found if d.get("kind") == "PodDisruptionBudget"}
    for role in ROLES:
        (patch,) = files[f"{role}-patch.yaml"]
        assert patch["metadata"]["name"] == f"deploybot-{role}"
        replicas = patch["spec"]["replicas"]
        assert replicas == REPLICAS[env][role], role
        (container,) = patch["spec"]["template"]["spec"]["containers"]
        assert container["name"] == _container(docs, role)["name"]
        # requests set: what a HorizontalPodAutoscaler's utilization is measured against
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]
        labels = _deployment(docs, role)["spec"]["template"]["metadata"]["labels"]
        if replicas > 1:
            pdb = pdbs.pop(f"deploybot-{role}")
            assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
            assert 1 <= pdb["spec"]["minAvailable"] < replicas
            assert pdb["metadata"]["namespace"] == BOT_NAMESPACE
    assert not pdbs, f"{env}: a PodDisruptionBudget for no role with replicas: {list(pdbs)}"


def test_production_scales_the_web_pods_with_a_horizontal_pod_autoscaler() -> None:
    files = _overlay_docs("production")
    (hpa,) = files["hpa.yaml"]
    assert hpa["kind"] == "HorizontalPodAutoscaler"
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "deploybot-web"}
    assert hpa["spec"]["minReplicas"] == REPLICAS["production"]["web"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


def test_secrets_are_referenced_never_inlined() -> None:
    for path in sorted(KUSTOMIZE.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            assert doc.get("kind") != "Secret", f"{path}: a Secret in git"
            assert "secretGenerator" not in doc, f"{path}: a secretGenerator in git"
        for needle in ("xoxb-", "xapp-", "ghp_", "postgresql://", "postgresql+psycopg://"):
            assert needle not in text, f"{path} holds what looks like a secret ({needle})"


# -- rendered by kustomize ------------------------------------------------------------------

def render(env: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here: the overlays were not rendered")
    done = subprocess.run([kubectl, "kustomize", str(OVERLAYS / env)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.mark.parametrize("env", sorted(REPLICAS))
def test_kustomize_renders_each_overlay_into_a_complete_install(env: str) -> None:
    rendered = render(env)
    kinds = sorted(d["kind"] for d in rendered)
    expected = ["ConfigMap", "Deployment", "Deployment", "Namespace", "Role", "Role",
                "RoleBinding", "RoleBinding", "Service", "ServiceAccount"]
    expected += ["PodDisruptionBudget"] * sum(n > 1 for n in REPLICAS[env].values())
    if env == "production":
        expected.append("HorizontalPodAutoscaler")
    assert kinds == sorted(expected)
    deployments = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Deployment"}
    assert set(deployments) == {f"deploybot-{role}" for role in ROLES}
    (service,) = [d for d in rendered if d["kind"] == "Service"]
    for role in ROLES:
        deployment = deployments[f"deploybot-{role}"]
        assert deployment["spec"]["replicas"] == REPLICAS[env][role]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{IMAGE}:0.1.0"
        assert container["args"][:3] == ["run", "--role", role]
        check_probes(container)  # the base's probes, ports and env survived the patch
        env_vars = {e["name"]: e for e in container["env"]}
        for key in secret_keys(role):
            assert env_vars[key]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": key}
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        # The selector is the base's: an overlay's labels must not change it (immutable).
        assert deployment["spec"]["selector"] == {"matchLabels": {
            "app.kubernetes.io/name": "deploybot", COMPONENT: role}}
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _selects(service["spec"]["selector"], labels) == (role == "web")
    for rbac_role in (d for d in rendered if d["kind"] == "Role"):
        assert granted(rbac_role) == EXPECTED_RULES
    for d in rendered:
        meta = d["metadata"]
        assert meta["labels"]["app.kubernetes.io/instance"] == f"deploybot-{env}"
        if d["kind"] in ("Role", "RoleBinding"):
            assert meta["namespace"] in TARGET_NAMESPACES
        elif d["kind"] != "Namespace":
            assert meta["namespace"] == BOT_NAMESPACE, d["kind"]
