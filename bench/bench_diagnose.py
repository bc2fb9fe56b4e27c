"""CPU time of one diagnosis as the tenant grows (target: 50 Servers x 3 replicas, 500 Models < 200 ms).

The tenant is the zero-capacity example scaled up: every Server, its StatefulSet, pods, per-replica
Services, EndpointSlices and agent logs are copies of the example's, renamed, so the checks do the
same work per object as on the real example. Run: `python bench/bench_diagnose.py`.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.cluster.bundle import load_bundle  # noqa: E402
from bot.diagnosis.engine import diagnose  # noqa: E402
from bot.playbooks import load_playbook  # noqa: E402
from bot.snapshot import ContainerLog, KubeObject, TenantSnapshot  # noqa: E402

EXAMPLE = ROOT / "examples" / "zero-capacity"
REPLICAS = 3


def _swap(value: str, old: str, new: str) -> str:
    return new + value[len(old) :] if value == old or value.startswith(f"{old}-") else value


def _swap_map(mapping: dict[str, str] | None, old: str, new: str) -> None:
    for key, value in (mapping or {}).items():
        if isinstance(value, str):
            mapping[key] = _swap(value, old, new)


def _renamed(obj: KubeObject, old: str, new: str) -> KubeObject:
    """A copy of a server-related object for another Server: names, labels, selectors, references."""
    raw = obj.to_dict()
    meta, spec = raw["metadata"], raw.get("spec") or {}
    meta["name"] = _swap(meta["name"], old, new)
    _swap_map(meta.get("labels"), old, new)
    for owner in meta.get("ownerReferences") or []:
        owner["name"] = _swap(owner["name"], old, new)
    selector = spec.get("selector") or {}
    _swap_map(selector.get("matchLabels", selector), old, new)
    _swap_map(((spec.get("template") or {}).get("metadata") or {}).get("labels"), old, new)
    if "serviceName" in spec:
        spec["serviceName"] = _swap(spec["serviceName"], old, new)
    for endpoint in raw.get("endpoints") or []:
        if endpoint.get("targetRef"):
            endpoint["targetRef"]["name"] = _swap(endpoint["targetRef"]["name"], old, new)
    return KubeObject.model_validate(raw)


def scale(base: TenantSnapshot, servers: int, models: int) -> TenantSnapshot:
    snap = base.model_copy(deep=True)
    server = base.of("servers")[0]
    name = server.name
    per_kind: dict[str, list[KubeObject]] = {
        k: [] for k in ("servers", "statefulsets", "pods", "services", "endpointslices")
    }
    logs: list[ContainerLog] = []
    for i in range(servers):
        new = f"{name}{i}"
        for kind in per_kind:
            for obj in base.of(kind):
                if obj.name == name or obj.name.startswith(f"{name}-"):
                    renamed = _renamed(obj, name, new)
                    if kind == "servers":
                        renamed.spec["replicas"] = REPLICAS
                    per_kind[kind].append(renamed)
        for r in range(REPLICAS):
            template = next(p for p in base.of("pods") if p.name.startswith(f"{name}-"))
            if not any(p.name == f"{new}-{r}" for p in per_kind["pods"]):
                pod = _renamed(template, name, new)
                pod.metadata.name = f"{new}-{r}"
                per_kind["pods"].append(pod)
            for lg in base.logs:
                if lg.pod.startswith(f"{name}-"):
                    logs.append(
                        ContainerLog(
                            pod=f"{new}-{r}",
                            container=lg.container,
                            previous=lg.previous,
                            lines=[x.replace(f"{name}:", f"{new}:") for x in lg.lines],
                        )
                    )
    model_templates = base.of("models")
    model_objs = []
    for j in range(models):
        m = copy.deepcopy(model_templates[j % len(model_templates)].to_dict())
        m["metadata"]["name"] = f"model-{j}"
        m["spec"]["server"] = f"{name}{j % servers}"
        model_objs.append(KubeObject.model_validate(m))

    def belongs(obj: KubeObject) -> bool:
        return obj.name == name or obj.name.startswith(f"{name}-")

    keep = {k: [o for o in v if k not in per_kind or not belongs(o)] for k, v in snap.objects.items()}
    for kind, objs in per_kind.items():
        keep[kind] = keep.get(kind, []) + objs
    others = [lg for lg in base.logs if not lg.pod.startswith(f"{name}-")]
    return snap.model_copy(update={"objects": {**keep, "models": model_objs}, "logs": others + logs})


def measure(snapshot: TenantSnapshot, rounds: int = 5) -> float:
    playbook = load_playbook("diagnose")
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        diagnose(snapshot, playbook)
        samples.append(time.process_time() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    base = load_bundle(EXAMPLE)
    print(
        f"{'servers':>8} {'pods':>6} {'models':>7} {'log lines':>10} {'CPU ms (median of 5)':>22} {'ms/object':>10}"
    )
    for servers, models in ((10, 100), (25, 250), (50, 500), (100, 1000)):
        snap = scale(base, servers, models)
        cpu = measure(snap)
        pods = len(snap.of("pods"))
        lines = sum(len(lg.lines) for lg in snap.logs)
        print(f"{servers:>8} {pods:>6} {models:>7} {lines:>10} {cpu:>22.1f} {cpu / (pods + models):>10.3f}")
    print("target: 50 servers x 3 replicas and 500 Models under 200 ms CPU, growing linearly")


if __name__ == "__main__":
    main()
