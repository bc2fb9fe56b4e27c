"""The install artefacts hold what the README promises: least privilege, restricted pods, exact Slack scopes.

Every overlay is rendered with `kubectl kustomize` (the HTTP-mode component too) and checked:

- RBAC: no wildcards, no Secrets, nothing cluster-wide (no ClusterRoleBinding), writes only where the
  executor writes; and the grants in each namespace are exactly the requests the code makes. Those are
  observed, not listed by hand: a real collection, a real Server fix and a real restart run against the
  fake API server, each request is turned into RBAC attributes the way the API server does, and the
  union (plus what the executor's preflight declares) must equal what the manifests grant. The same
  loop then runs again with only the rendered rules allowed, and must not meet a single 403.
- Pods: non-root, read-only root filesystem, no privilege escalation, ALL capabilities dropped,
  RuntimeDefault seccomp, requests and limits, writable emptyDirs only for /tmp and the state dir,
  secrets mounted from a Secret by reference.
- The Slack app manifest's bot scopes equal those of the Web API methods called under bot/.
- The Dockerfile installs the package with the README's command and runs as the Deployment's user.
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from executor_helpers import seeded
from fakekube import FakeKube, RecordedRequest
from slack_sdk import WebClient

from bot.diagnosis.models import Proposal
from bot.remediation.executor import required_permissions
from bot.remediation.proposals import restart_proposal
from bot.settings import BotConfig, Digest, Secrets, Tenant
from bot.slack.commands import USAGE
from bot.snapshot import ALL_KINDS, KubeObject

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
OVERLAYS = sorted(p.name for p in (DEPLOY / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
BOT_NS, BOT_SA, OPERATOR_NS = "seldon-chatops", "seldon-chatops", "seldon-mesh"
TENANT = "financial-ml"  # the example bundle's namespace, present in both overlays
CAPACITY = "capacity.memory-request-missing"
Json = dict[str, Any]
Grant = tuple[str, str, str, str]  # (namespace, verb, apiGroup, resource[/subresource])

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"}
# The only writes the bot makes: the executor's fixes and restarts, and its leader-election Lease.
ALLOWED_WRITES = {
    ("patch", "mlops.seldon.io", "servers"),
    ("patch", "apps", "statefulsets"),
    ("create", "coordination.k8s.io", "leases"),
    ("update", "coordination.k8s.io", "leases"),
}
LEASE_GRANTS = {(BOT_NS, verb, "coordination.k8s.io", "leases") for verb in ("create", "get", "update")}


# -- rendering ------------------------------------------------------------------------------------


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is needed to render deploy/ (it bundles kustomize)")
        pytest.skip("kubectl not installed: cannot render deploy/")
    return found


def kustomize(directory: Path) -> list[Json]:
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl kustomize {directory}: {done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@functools.cache
def rendered(name: str) -> tuple[Json, ...]:
    """An overlay by name; `<overlay>+http-mode` adds the HTTP-mode component to it."""
    overlay, _, component = name.partition("+")
    if not component:
        return tuple(kustomize(DEPLOY / "overlays" / overlay))
    # kustomize takes relative paths only, and a component must be listed by a kustomization.
    work = Path(tempfile.mkdtemp(prefix="seldon-chatops-render-"))
    try:
        base = os.path.relpath(DEPLOY, work)
        (work / "kustomization.yaml").write_text(
            f"resources: [{base}/overlays/{overlay}]\ncomponents: [{base}/components/{component}]\n",
            encoding="utf-8",
        )
        return tuple(kustomize(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


VARIANTS = [*OVERLAYS, "single-tenant+http-mode"]


def of_kind(docs: Iterable[Json], kind: str) -> list[Json]:
    return [d for d in docs if d.get("kind") == kind]


def deployment(docs: Iterable[Json]) -> Json:
    (found,) = of_kind(docs, "Deployment")
    return found


def container(docs: Iterable[Json]) -> Json:
    (found,) = deployment(docs)["spec"]["template"]["spec"]["containers"]
    return found


def env(docs: Iterable[Json]) -> dict[str, Json]:
    return {e["name"]: e for e in container(docs).get("env") or []}


def config_of(docs: Iterable[Json]) -> BotConfig:
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    name = volumes["config"]["configMap"]["name"]
    (cm,) = [c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"] == name]
    return BotConfig.model_validate(yaml.safe_load(cm["data"]["config.yaml"]))


# -- RBAC as the API server sees it ---------------------------------------------------------------


def grants(docs: Iterable[Json]) -> set[Grant]:
    """Every (namespace, verb, group, resource) the bot's ServiceAccount is granted by the manifests."""
    docs = list(docs)
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in of_kind(docs, "Role")}
    cluster_roles = {r["metadata"]["name"]: r for r in of_kind(docs, "ClusterRole")}
    found: set[Grant] = set()
    for binding in of_kind(docs, "RoleBinding"):
        ns = binding["metadata"]["namespace"]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": BOT_SA, "namespace": BOT_NS}], binding
        ref = binding["roleRef"]
        role = roles[(ns, ref["name"])] if ref["kind"] == "Role" else cluster_roles[ref["name"]]
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    found |= {(ns, verb, group, resource) for verb in rule["verbs"]}
    return found


def attributes(request: RecordedRequest) -> Grant | None:
    """The RBAC attributes of one request (None for non-resource URLs and access reviews, which every
    authenticated identity may use). As the API server files them, a request on namespace N itself
    belongs to namespace N: that is why a Role can grant `get namespaces` for its own namespace."""
    parts = [p for p in request.path.split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if group == "authorization.k8s.io":
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 2:
        namespace = rest[1]
        rest = rest[2:] or ["namespaces", namespace]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    verb = {"GET": "get" if len(rest) > 1 else "list", "POST": "create", "PUT": "update", "PATCH": "patch"}[
        request.method
    ]
    return namespace, verb, group, resource


def declared(proposals: Iterable[Proposal]) -> set[Grant]:
    """What the executor's preflight asks the API server about (SelfSubjectAccessReviews)."""
    return {
        (p.target.namespace or "", verb, group, resource)
        for p in proposals
        for verb, resource, group, _ in required_permissions(p)
    }


def remediation_loop(kube: FakeKube) -> tuple[set[Grant], list[str]]:
    """Collect, fix the zero-capacity Server and restart its StatefulSet, as the bot does.

    Returns the RBAC attributes of every request made, and the problems met (collection errors, any
    result other than a success).
    """
    cluster = seeded(kube, "zero-capacity", TENANT)
    cluster.start_seldon()
    kube.reset_requests()
    snapshot = cluster.collect()
    problems = [f"{kind}: {e.message}" for kind, e in snapshot.errors.items()]
    problems += [
        f"no log {pod}/{c}"
        for pod, c in (("seldon-scheduler-0", "scheduler"), ("mlserver-0", "agent"))
        if not any(lg.pod == pod and lg.container == c for lg in snapshot.logs)
    ]
    if problems:  # without a full snapshot there is no proposal to act on
        return {a for r in list(kube.requests) if (a := attributes(r)) is not None}, problems
    fix = cluster.proposal(CAPACITY, live=True)
    result = cluster.run(fix)
    if result.result != "fixed":
        problems.append(f"{fix.title}: {result.result}: {result.message}")
    # A restart of the StatefulSet as the fix left it (verification of a restart needs the F9 zombie).
    restart = restart_proposal(KubeObject.model_validate(cluster.statefulset()), "", "test", "2026-11-27T10:00:00Z")
    result = cluster.run(restart, executor=cluster.executor(verify=False))
    if result.result not in ("fixed", "not-fixed") or "Nothing was changed" in result.message:
        problems.append(f"{restart.title}: {result.result}: {result.message}")
    observed = {a for r in list(kube.requests) if (a := attributes(r)) is not None}
    return observed | declared([fix, restart]), problems


@functools.cache
def needed() -> frozenset[Grant]:
    """What the code needs, observed with everything allowed."""
    with FakeKube() as kube:
        observed, problems = remediation_loop(kube)
    assert not problems, problems
    return frozenset(observed)


def needed_in(tenants: Iterable[str], operator_namespace: str) -> set[Grant]:
    """`needed()` for these tenants: the tenant namespace's grants for each, the operator's once."""
    found: set[Grant] = set()
    for ns, verb, group, resource in needed():
        if ns == TENANT:
            found |= {(tenant, verb, group, resource) for tenant in tenants}
        elif ns == OPERATOR_NS:
            found.add((operator_namespace, verb, group, resource))
        else:
            raise AssertionError(f"the code used namespace {ns!r}, which no overlay grants")
    return found


# -- RBAC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_rbac_has_no_wildcards_no_secrets_and_nothing_cluster_wide(variant: str) -> None:
    docs = rendered(variant)
    assert not of_kind(docs, "ClusterRoleBinding"), "a ClusterRoleBinding would grant its rules in every namespace"
    bound = {b["roleRef"]["name"] for b in of_kind(docs, "RoleBinding") if b["roleRef"]["kind"] == "ClusterRole"}
    assert {r["metadata"]["name"] for r in of_kind(docs, "ClusterRole")} <= bound, "an unbound ClusterRole"
    if variant.startswith("single-tenant"):
        assert not of_kind(docs, "ClusterRole"), "single-tenant is namespace-scoped RBAC only"
    for role in of_kind(docs, "Role") + of_kind(docs, "ClusterRole"):
        assert "aggregationRule" not in role
        for rule in role["rules"]:
            where = f"{role['kind']} {role['metadata']['name']}: {rule}"
            assert "nonResourceURLs" not in rule, where
            for field in ("apiGroups", "resources", "verbs"):
                assert rule.get(field) and not any("*" in v for v in rule[field]), where
            assert not {"secrets", "secrets/*"} & set(rule["resources"]), where
            writes = {
                (v, g, r)
                for v in rule["verbs"]
                if v in WRITE_VERBS
                for g in rule["apiGroups"]
                for r in rule["resources"]
            }
            assert writes <= ALLOWED_WRITES, where


@pytest.mark.parametrize("variant", VARIANTS)
def test_rbac_grants_exactly_what_the_code_calls(variant: str) -> None:
    docs = rendered(variant)
    config = config_of(docs)
    granted = grants(docs)
    assert granted & LEASE_GRANTS == LEASE_GRANTS, "leader election: create, get, update leases in its namespace"
    tenants = [t.namespace for t in config.tenants]
    expected = needed_in(tenants, config.operator_namespace)
    assert granted - LEASE_GRANTS - expected == set(), "granted but never used"
    assert expected - granted == set(), "used but not granted"
    bound = {b["metadata"]["namespace"] for b in of_kind(docs, "RoleBinding")} - {BOT_NS, config.operator_namespace}
    assert bound == set(tenants), "every configured tenant has a RoleBinding, and only those"


def test_needed_permissions_are_the_collector_reads_and_the_executor_writes() -> None:
    """A readable statement of `needed()`: what the README and the manifests' comments say."""
    tenant = {(verb, group, resource) for ns, verb, group, resource in needed() if ns == TENANT}
    operator = {(verb, group, resource) for ns, verb, group, resource in needed() if ns == OPERATOR_NS}
    assert {(v, g, r) for v, g, r in tenant if v != "list"} == {
        ("get", "", "namespaces"),
        ("get", "", "pods/log"),
        ("get", "mlops.seldon.io", "servers"),
        ("patch", "mlops.seldon.io", "servers"),
        ("get", "apps", "statefulsets"),
        ("patch", "apps", "statefulsets"),
    }
    assert {r for v, g, r in tenant if v == "list"} == {
        "configmaps",
        "deployments",
        "endpointslices",
        "events",
        "experiments",
        "limitranges",
        "models",
        "networkpolicies",
        "pipelines",
        "pods",
        "roles",
        "seldonruntimes",
        "servers",
        "serviceaccounts",
        "services",
        "statefulsets",
    }
    assert operator == {
        ("get", "", "namespaces"),
        ("list", "apps", "deployments"),
        ("list", "mlops.seldon.io", "serverconfigs"),
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_rendered_rules_alone_let_the_bot_diagnose_fix_and_restart(overlay: str) -> None:
    """Deny everything but the overlay's rules on the fake API server: the whole loop still works."""
    granted = grants(rendered(overlay)) - LEASE_GRANTS
    with FakeKube() as kube:
        kube.deny_all()
        for ns, verb, group, resource in granted:
            plural, _, sub = resource.partition("/")
            # The fake files `GET /api/v1/namespaces/N` at cluster scope, the API server under N.
            scope = None if plural == "namespaces" else ns
            kube.allow(verb, plural, group=group, namespace=scope, subresource=sub)
        _, problems = remediation_loop(kube)
    assert problems == []


# -- the pod ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_pod_runs_restricted_with_limits(variant: str) -> None:
    docs = rendered(variant)
    pod = deployment(docs)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == BOT_SA
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert not any("hostPath" in v for v in pod["volumes"])
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc.get("privileged", False) is False and sc.get("runAsNonRoot", True) is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc.get("seccompProfile", pod["securityContext"]["seccompProfile"]) == {"type": "RuntimeDefault"}
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), (c["name"], kind)
        assert not c["image"].endswith(":latest") and ":" in c["image"]
    bot = container(docs)
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = {m["mountPath"]: volumes[m["name"]] for m in bot["volumeMounts"] if not m.get("readOnly")}
    state_dir = env(docs)["SELDON_CHATOPS_STATE_DIR"]["value"]
    assert set(writable) == {"/tmp", state_dir} and all("emptyDir" in v for v in writable.values())
    ports = {p["name"]: p["containerPort"] for p in bot["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        assert bot[probe]["httpGet"]["path"] == path and bot[probe]["httpGet"]["port"] in ports
    assert bot["args"][:1] == ["serve"]
    health_port = int(bot["args"][bot["args"].index("--health-port") + 1])
    assert health_port == int(bot["args"][bot["args"].index("--port") + 1]) == ports["http"], (
        "one port: health in Socket Mode, health and events in HTTP mode"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_secrets_are_referenced_never_inlined(variant: str) -> None:
    docs = rendered(variant)
    assert not of_kind(docs, "Secret"), "the Secret is created by the installer, not shipped"
    variables = env(docs)
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    secret_mount = mounts["secrets"]
    assert volumes["secrets"]["secret"]["secretName"] == "seldon-chatops"
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SELDON_CHATOPS_DATABASE_URL"):
        assert name not in variables, f"{name} must come from a file of the Secret ({name}_FILE)"
    files = {n: v["value"] for n, v in variables.items() if n.endswith("_FILE")}
    assert all(path.startswith(secret_mount + "/") for path in files.values()), files
    mode = variables["SELDON_CHATOPS_MODE"]["value"]
    needed_files = {"SLACK_BOT_TOKEN_FILE", "SELDON_CHATOPS_DATABASE_URL_FILE"}
    needed_files |= {"SLACK_APP_TOKEN_FILE"} if mode == "socket" else {"SLACK_SIGNING_SECRET_FILE"}
    assert set(files) == needed_files, (mode, files)
    assert mode == ("http" if variant.endswith("+http-mode") else "socket")
    for item in of_kind(docs, "ConfigMap"):
        text = yaml.safe_dump(item)
        assert not re.search(r"xox[abposr]-|xapp-|://[^/\s:]+:[^@\s]+@", text), item["metadata"]["name"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_policy_admits_only_the_http_port_and_the_needed_egress(variant: str) -> None:
    docs = rendered(variant)
    (policy,) = of_kind(docs, "NetworkPolicy")
    labels = deployment(docs)["spec"]["template"]["metadata"]["labels"]
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = [p["port"] for rule in spec["ingress"] for p in rule["ports"]]
    assert ingress_ports == ["http"], "nothing but /healthz, /readyz, /metrics (and /slack/events in HTTP mode)"
    egress = {(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]}
    assert egress == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443), ("TCP", 5432)}
    assert all(rule.get("to") for rule in spec["egress"]), "every egress rule names its destination"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budget_service_and_namespace(overlay: str) -> None:
    docs = rendered(overlay)
    (pdb,) = of_kind(docs, "PodDisruptionBudget")
    replicas = deployment(docs)["spec"]["replicas"]
    assert 0 < pdb["spec"]["minAvailable"] < replicas, "a drain must be able to proceed"
    labels = deployment(docs)["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (service,) = of_kind(docs, "Service")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["selector"].items() <= labels.items()
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_and_playbooks_ship_as_configmaps(overlay: str) -> None:
    docs = rendered(overlay)
    config = config_of(docs)
    assert TENANT in [t.namespace for t in config.tenants]
    variables = env(docs)
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert variables["SELDON_CHATOPS_CONFIG"]["value"] == mounts["config"] + "/config.yaml"
    assert variables["SELDON_CHATOPS_PLAYBOOKS"]["value"] == mounts["playbooks"]
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    (playbooks,) = [
        c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"] == volumes["playbooks"]["configMap"]["name"]
    ]
    shipped = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "playbooks").glob("*.yaml")}
    assert playbooks["data"] == shipped, "deploy/base/playbooks drifted: cp playbooks/*.yaml deploy/base/playbooks/"


# -- Slack app manifest -----------------------------------------------------------------------------

# Bot scopes of the Web API methods, from each method's page in Slack's reference. A method the code
# starts calling must be added here (and its scopes to the manifest): the test fails until it is.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.getPermalink": set(),
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "usergroups.users.list": {"usergroups:read"},
    "usergroups.list": {"usergroups:read"},
    "users.info": {"users:read"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},  # types=public_channel,private_channel
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "reactions.add": {"reactions:write"},
}
_API_CALL = re.compile(r"self\.api_call\(\s*\"([\w.]+)\"")
_SELF_CALL = re.compile(r"self\.(\w+)\(")


@functools.cache
def api_methods_of(name: str) -> frozenset[str]:
    """The Web API methods one WebClient method calls (files_upload_v2 calls two)."""
    member = getattr(WebClient, name, None)
    if member is None or not callable(member) or name.startswith("_"):
        return frozenset()
    source = inspect.getsource(member)
    found = set(_API_CALL.findall(source))
    for inner in set(_SELF_CALL.findall(source)) - {name, "api_call"}:
        found |= api_methods_of(inner)
    return frozenset(found)


def web_api_methods_called() -> dict[str, set[str]]:
    """Web API method -> files under bot/ calling it (WebClient methods and api_call("x.y") alike)."""
    called: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            methods: Iterable[str] = api_methods_of(node.func.attr)
            if node.func.attr == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                methods = [str(node.args[0].value)]
            for method in methods:
                called.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    return called


def slack_manifest() -> Json:
    return yaml.safe_load((DEPLOY / "slack-app-manifest.yaml").read_text(encoding="utf-8"))


def test_slack_manifest_scopes_are_exactly_those_of_the_methods_called() -> None:
    called = web_api_methods_called()
    assert {"chat.postMessage", "usergroups.users.list", "files.completeUploadExternal"} <= set(called)
    unknown = {m: sorted(files) for m, files in called.items() if m not in METHOD_SCOPES}
    assert not unknown, f"add these methods' bot scopes to METHOD_SCOPES and the manifest: {unknown}"
    manifest = slack_manifest()
    needed_scopes = {"commands"} if manifest["features"].get("slash_commands") else set()
    for method in called:
        needed_scopes |= METHOD_SCOPES[method]
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes"
    assert sorted(scopes["bot"]) == sorted(needed_scopes)


def test_slack_manifest_has_the_command_interactivity_and_socket_mode() -> None:
    manifest = slack_manifest()
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/seldon" and "url" not in command, "Socket Mode: no request URL"
    assert all(verb in command["usage_hint"] for verb in USAGE)
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True and "request_url" not in settings["interactivity"]
    assert settings["socket_mode_enabled"] is True
    assert "event_subscriptions" not in settings, "the bot listens to no events"


# -- Dockerfile -----------------------------------------------------------------------------------


def dockerfile() -> list[str]:
    """Instructions, with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines() if i.strip()]


def test_dockerfile_installs_with_the_readme_command() -> None:
    runs = [i.removeprefix("RUN ").strip() for i in dockerfile() if i.startswith("RUN ") and "pip install" in i]
    assert len(runs) == 1, runs
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert runs[0] in readme, f"the README's install guide must show the image's install step: {runs[0]}"


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    instructions = dockerfile()
    stages = [i for i in instructions if i.startswith("FROM ")]
    assert len(stages) >= 2 and "slim" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    final = instructions[instructions.index(stages[-1]) :]
    assert not any(re.search(r"apt-get install|gcc|build-essential|pip install", i) for i in final), (
        "nothing is built or downloaded in the final stage"
    )
    (user,) = [i for i in final if i.startswith("USER ")]
    uid = int(user.split()[1].split(":")[0])
    assert uid > 0
    docs = rendered(OVERLAYS[0])
    assert deployment(docs)["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == uid
    (health,) = [i for i in final if i.startswith("HEALTHCHECK ")]
    assert "/healthz" in health
    assert 'ENTRYPOINT ["seldon-chatops"]' in final
    (cmd,) = [i for i in final if i.startswith("CMD ")]
    assert cmd.startswith('CMD ["serve"')
    env_text = " ".join(i for i in final if i.startswith("ENV "))
    playbooks = re.search(r"SELDON_CHATOPS_PLAYBOOKS=(\S+)", env_text)
    assert playbooks and any(i == f"COPY playbooks {playbooks[1]}" for i in final), (
        "a non-editable install has no playbooks/ next to the package: the image ships them and says where"
    )


def test_dockerignore_lets_only_the_build_inputs_in() -> None:
    lines = [x for x in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if x and x[0] != "#"]
    assert lines[0] == "*"
    assert {x for x in lines if x.startswith("!")} == {"!pyproject.toml", "!README.md", "!bot/", "!playbooks/"}


def test_kinds_named_in_the_collector_are_all_exercised() -> None:
    """`needed()` comes from one run; make sure that run read every kind the snapshot declares."""
    listed = {r for _, v, _, r in needed() if v == "list"}
    plural = {"operator_deployments": "deployments"}
    assert {plural.get(k, k) for k in ALL_KINDS if k != "namespaces"} <= listed


# -- README -----------------------------------------------------------------------------------------


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_configuration_reference_names_every_setting_and_environment_variable() -> None:
    reference = readme_section("Configuration reference")
    fields = {f"`{name}`" for name in BotConfig.model_fields}
    for model, prefix in ((Tenant, "tenants[]."), (Digest, "tenants[].digest.")):
        fields |= {f"`{prefix}{name}`" for name in model.model_fields}
    missing = {f for f in fields if f"| {f} |" not in reference}
    assert not missing, f"document these config.yaml keys: {sorted(missing)}"
    variables = {name.upper() for name in Secrets.model_fields}
    variables |= {
        f"{name}_FILE"
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SELDON_CHATOPS_DATABASE_URL")
    }
    for path in (ROOT / "bot").rglob("*.py"):  # every variable the code reads by name
        variables |= set(
            re.findall(
                r"[\"'](SELDON_CHATOPS_[A-Z_]+|SLACK_[A-Z_]+|POD_NAMESPACE)[\"']", path.read_text(encoding="utf-8")
            )
        )
    variables -= {"SELDON_CHATOPS_TEST_POSTGRES_URL", "SELDON_CHATOPS_BENCH_POSTGRES_URL"}
    missing = {v for v in variables if f"`{v}`" not in reference}
    assert not missing, f"document these environment variables: {sorted(missing)}"


def test_install_guide_covers_a_fresh_cluster() -> None:
    guide = readme_section("Install in a cluster")
    for step in (
        "slack-app-manifest.yaml",
        "create secret generic seldon-chatops",
        "kubectl apply -k",
        "config.yaml",
        "rollout status",
        "/readyz",
        "components/http-mode",
    ):
        assert step in guide, step
    keys = {m for m in re.findall(r"--from-file=([a-z-]+)=", guide)}
    mounted = {Path(v["value"]).name for k, v in env(rendered("single-tenant")).items() if k.endswith("_FILE")}
    assert mounted <= keys, "the guide creates every key the Deployment reads"
