"""One digest round over many tenant namespaces: API requests, wall time and peak memory.

200 tenants (by default) on the fake API server, four in five copies of the healthy example and one in
five broken (zero capacity, a blocking NetworkPolicy), 20 ms latency per request; the digests are posted
to the fake Slack. The fakes run in a child process, so the CPU time and the peak memory (tracemalloc,
a second round for the next slot) are the bot's own; the wall time also includes the fake server
encoding ~25 MB of JSON (200 namespaces of Seldon pods, Deployments, StatefulSets). For comparison:
the requests of one per-tenant collection (`Collector.collect`, what `diagnose` does) times the tenants.
Run: `python bench/bench_digest.py [--tenants 200] [--latency 0.02]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bot.cluster.client import api_client  # noqa: E402
from bot.cluster.collector import Collector  # noqa: E402
from bot.digest.collect import BatchCollector  # noqa: E402
from bot.digest.runner import DigestRunner  # noqa: E402
from bot.digest.state import Due  # noqa: E402
from bot.playbooks import load_playbook  # noqa: E402
from bot.settings import BotConfig, Tenant  # noqa: E402
from bot.store.store import Store  # noqa: E402

SLOT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def tenants(count: int) -> dict[str, str]:
    """namespace -> example: one in five is broken (zero capacity or a blocking NetworkPolicy)."""
    kinds = {0: "zero-capacity", 5: "netpol-blocked"}
    return {f"tenant-{i:03d}": kinds.get(i % 10, "healthy") for i in range(count)}


def channel(namespace: str) -> str:
    return "C" + namespace.removeprefix("tenant-").rjust(9, "0")


def serve(count: int, latency: float, kubeconfig: Path) -> None:
    """The child process: fake Kubernetes and fake Slack until stdin closes, then the request counts."""
    from digest_support import seed_tenants
    from fakekube import FakeKube
    from fakeslack import FakeSlack

    with FakeKube() as kube, FakeSlack() as slack:
        by_example: dict[str, list[str]] = {}
        for namespace, example in tenants(count).items():
            by_example.setdefault(example, []).append(namespace)
            slack.add_channel(channel(namespace), namespace)
        for example, namespaces in by_example.items():
            seed_tenants(kube, example, namespaces)
        kube.set_latency(latency)
        kube.write_kubeconfig(kubeconfig)
        print(json.dumps({"api_url": slack.api_url, "token": slack.token}), flush=True)
        while sys.stdin.readline():
            kube_total = kube.request_count()
            logs = kube.request_count(path_contains="/log")
            posts = len(slack.calls("chat.postMessage"))
            print(json.dumps({"kube": kube_total, "logs": logs, "posts": posts}), flush=True)
            kube.reset_requests()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.tenants, args.latency, args.serve)
        return
    from slack_sdk import WebClient

    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(kubeconfig), "--tenants", str(args.tenants),
             "--latency", str(args.latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        slack = json.loads(child.stdout.readline())

        def served() -> dict[str, int]:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("count\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline())

        names = sorted(tenants(args.tenants))
        config = BotConfig(
            tenants=[Tenant(namespace=n, channel=channel(n), digest={"cron": "0 9 * * *"}) for n in names],
            workers=8,
        )
        api, _ = api_client(kubeconfig, pool_size=16)
        playbook = load_playbook("diagnose")
        with api, Store.open(f"sqlite:///{tmp}/bot.db", env={}) as store:
            runner = DigestRunner(
                config=config,
                store=store,
                client=WebClient(token=slack["token"], base_url=slack["api_url"]),
                collect=BatchCollector(api, playbook),
                replica_id="bench",
                clock=lambda: datetime.now(UTC),
            )
            served()
            start, cpu = time.perf_counter(), time.process_time()
            report = runner.run_due([Due(n, SLOT) for n in names])
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            first = served()

            tracemalloc.start()
            runner.run_due([Due(n, SLOT + timedelta(days=1)) for n in names])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            served()

            Collector(api).collect(names[1])  # a healthy tenant, the way `diagnose` reads it
            single = served()["kube"]
        child.stdin.close()
        child.wait(timeout=30)

    broken = sum(1 for n in names if tenants(args.tenants)[n] != "healthy")
    print(f"digest round: {args.tenants} tenants ({broken} broken), {args.latency * 1000:.0f} ms API latency")
    print(f"  API requests   {first['kube']:>6}  ({first['kube'] - first['logs']} LISTs, {first['logs']} log reads, "
          f"logs of the {broken} broken tenants only)")
    print(f"  per-tenant     {single * args.tenants:>6}  ({single} requests x {args.tenants} with Collector.collect)")
    print(f"  Slack posts    {first['posts']:>6}  ({len(report.posted)} posted, {len(report.failed)} failed)")
    print(f"  wall time      {wall:>6.2f} s (collect, diagnose, store, post)")
    print(f"  bot CPU time   {cpu:>6.2f} s ({cpu / args.tenants * 1000:.0f} ms per tenant)")
    print(f"  peak memory    {peak / 2**20:>6.1f} MiB (tracemalloc, second round; "
          f"{peak / 2**20 / args.tenants:.2f} MiB per tenant: every tenant's objects are held during the round)")


if __name__ == "__main__":
    main()
