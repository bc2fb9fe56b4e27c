"""API requests and wall time of one live collection as the tenant grows, with 20 ms latency per request.

Target: requests constant in the number of pods and Models (one LIST per kind, logs within a fixed
budget of pods) and wall time near one round trip per kind thanks to concurrent LISTs.
Runs the fake API server from tests/fakekube on 127.0.0.1. Run: `python bench/bench_live.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_diagnose import EXAMPLE, scale  # noqa: E402
from fakekube import FakeKube  # noqa: E402

from bot.cluster.bundle import load_bundle  # noqa: E402
from bot.cluster.collector import Collector  # noqa: E402
from bot.snapshot import TenantSnapshot  # noqa: E402

LATENCY = 0.020


def seed(kube: FakeKube, snapshot: TenantSnapshot) -> None:
    kube.seed(obj.to_dict() for items in snapshot.objects.values() for obj in items)
    for log in snapshot.logs:
        kube.set_log(snapshot.namespace, log.pod, log.container, log.lines, log.previous)


def main() -> None:
    base = load_bundle(EXAMPLE)
    print(f"{'servers':>8} {'pods':>5} {'models':>7} {'LISTs/GETs':>11} {'log reads':>10} {'wall ms':>8} "
          f"{'wall / round trip':>18}")
    for servers in (1, 10, 50):
        snapshot = scale(base, servers, servers * 10)
        with FakeKube() as kube:
            seed(kube, snapshot)
            kube.set_latency(LATENCY)
            collector = Collector(kube.api_client())
            start = time.perf_counter()
            collector.collect(snapshot.namespace)
            wall = time.perf_counter() - start
            logs = kube.request_count(path_contains="/log")
            reads = kube.request_count() - logs
        print(f"{servers:>8} {len(snapshot.of('pods')):>5} {servers * 10:>7} {reads:>11} {logs:>10} "
              f"{wall * 1000:>8.0f} {wall / LATENCY:>17.1f}x")
    print(f"{LATENCY * 1000:.0f} ms latency per request; 8 concurrent requests; log budget 12 server pods")


if __name__ == "__main__":
    main()
