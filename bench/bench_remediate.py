"""API requests and wall time of one remediation (preflight to verified), 20 ms latency per request.

The zero-capacity example on the fake API server, with the fake operator rolling the pods at once and
marking the Models available, so the figures are the bot's own: requests per step and wall time.
Run: `python bench/bench_remediate.py`.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakekube import FakeKube, FakeSeldonOperator  # noqa: E402

from bot.cluster.collector import Collector  # noqa: E402
from bot.diagnosis.engine import diagnose  # noqa: E402
from bot.playbooks import load_playbook  # noqa: E402
from bot.remediation.events import Actor, CollectingSink  # noqa: E402
from bot.remediation.executor import Executor, Timing  # noqa: E402
from bot.remediation.kube import KubeTarget  # noqa: E402
from bot.remediation.verify import LiveVerifier  # noqa: E402

NAMESPACE, LATENCY = "financial-ml", 0.020
FIXED_LOG = 'time="2026-11-27T10:00:00Z" level=info msg="Setting memory request from env MEMORY_REQUEST with value {}"'


def main() -> None:
    with FakeKube() as kube:
        kube.seed_bundle(ROOT / "examples" / "zero-capacity")

        def rolled(namespace: str, server: str, pods: list[dict]) -> None:
            for pod in pods:
                kube.set_log(namespace, pod["metadata"]["name"], "agent", [FIXED_LOG.format(2**30)])
            for model in kube.objects("models"):
                ready = [{"type": t, "status": "True", "message": "ModelAvailable", "reason": ""}
                         for t in ("ModelReady", "Ready")]
                kube.set_status(model["apiVersion"], "Model", namespace, model["metadata"]["name"],
                                {**model.get("status", {}), "conditions": ready})

        FakeSeldonOperator(kube, auto=True, on_pods_rolled=rolled)
        api = kube.api_client()
        playbook = load_playbook("diagnose")

        def collect():
            return Collector(api).collect(NAMESPACE)

        proposal = next(p for p in diagnose(collect(), playbook).proposals
                        if p.finding_id.startswith("capacity.memory-request-missing"))
        kube.set_latency(LATENCY)
        kube.reset_requests()
        sink = CollectingSink()
        executor = Executor(KubeTarget(api), sink, LiveVerifier(collect, playbook, interval=0.5),
                            timing=Timing(interval=0.2))
        start = time.perf_counter()
        result = executor.run(proposal, actor=Actor(id="bench"), approver=Actor(id="bench"))
        wall = time.perf_counter() - start
        methods = Counter(r.method for r in kube.requests)
        logs = kube.request_count(path_contains="/log")
    print(f"result: {result.result} ({result.message})")
    print(f"API requests, preflight to verified: {len(kube.requests)} "
          f"({', '.join(f'{n} {m}' for m, n in sorted(methods.items()))}; {logs} of the GETs are log reads)")
    print(f"wall time with {LATENCY * 1000:.0f} ms latency per request: {wall * 1000:.0f} ms "
          f"({wall / LATENCY:.1f} round trips)")
    print("steps: " + ", ".join(f"{e.step}/{e.outcome}" for e in sink.events))


if __name__ == "__main__":
    main()
