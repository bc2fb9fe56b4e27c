"""API requests and wall time of one live collection as the tenant grows, with 20 ms latency per request.

Target: requests constant in the number of pods and Models (one LIST per kind, logs within a fixed
budget of pods) and wall time near one round trip per kind, not one per object, thanks to
concurrent LISTs. The fake API server (tests/fakekube) runs in its own process on 127.0.0.1.
Run: `python bench/bench_live.py`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_diagnose import EXAMPLE, scale  # noqa: E402

from bot.cluster.bundle import load_bundle, write_bundle  # noqa: E402
from bot.cluster.client import api_client  # noqa: E402
from bot.cluster.collector import Collector  # noqa: E402

LATENCY = 0.020


def collect_once(bundle: Path, namespace: str, work: Path) -> tuple[float, int, int]:
    """(wall seconds, object reads, log reads) of one collection against a served bundle."""
    kubeconfig = work / "kubeconfig"
    server = subprocess.Popen(
        [sys.executable, "-m", "fakekube", "--bundle", str(bundle), "--kubeconfig", str(kubeconfig),
         "--latency", str(LATENCY)],
        cwd=ROOT / "tests", stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the kubeconfig path: the server listens
        api, _ = api_client(kubeconfig)
        with api:
            collector = Collector(api)
            start = time.perf_counter()
            snapshot = collector.collect(namespace)
            wall = time.perf_counter() - start
    finally:
        server.terminate()
        served = int(server.communicate(timeout=10)[0].split()[1])
    logs = len(snapshot.logs)
    return wall, served - logs, logs


def main() -> None:
    base = load_bundle(EXAMPLE)
    print(f"{'servers':>8} {'pods':>5} {'models':>7} {'object reads':>13} {'log reads':>10} {'wall ms':>8} "
          f"{'round trips':>12}")
    for servers in (1, 10, 50):
        snapshot = scale(base, servers, servers * 10)
        with tempfile.TemporaryDirectory() as tmp:
            bundle = write_bundle(snapshot, Path(tmp) / "bundle")
            wall, reads, logs = collect_once(bundle, snapshot.namespace, Path(tmp))
        print(f"{servers:>8} {len(snapshot.of('pods')):>5} {servers * 10:>7} {reads:>13} {logs:>10} "
              f"{wall * 1000:>8.0f} {wall / LATENCY:>12.1f}")
    print(f"{LATENCY * 1000:.0f} ms latency per request, 8 requests in flight; logs of at most 12 server pods")


if __name__ == "__main__":
    main()
