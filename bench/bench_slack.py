"""Slash-command acknowledgement latency under load, and Slack API calls per diagnosis.

20 signed `/seldon diagnose` commands at once against the Bolt app served by waitress, while the
fake Kubernetes API answers every request 50 ms late so diagnoses are still running: Slack wants
the ack within 3 s whatever the cluster does. Only 127.0.0.1. Run: `python bench/bench_slack.py`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import waitress  # noqa: E402
from fakekube import FakeKube  # noqa: E402
from fakeslack import FakeSlack  # noqa: E402
from fakeslack.signing import post_signed, slash_command_body  # noqa: E402

from bot.settings import BotConfig, Tenant  # noqa: E402
from bot.slack.app import build_app, wsgi_app  # noqa: E402
from bot.slack.authz import Authorizer  # noqa: E402
from bot.slack.services import Services, WorkerPool  # noqa: E402
from bot.store.store import Store  # noqa: E402

SECRET, NS, CHANNEL, USER = "bench-secret", "financial-ml", "C0FINANCE1", "U0ALICE001"
CONCURRENT = 20


def main() -> None:
    with FakeKube() as kube, FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
        kube.seed_bundle(ROOT / "examples" / "zero-capacity")
        slack.add_channel(CHANNEL, "financial-ml")
        slack.add_user(USER, "alice")
        config = BotConfig(tenants=[Tenant(namespace=NS, channel=CHANNEL, requesters=[USER], approvers=[USER])],
                           workers=8)
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        services = Services(config=config, authz=Authorizer(config, lambda _: set()), store=store,
                            kube=kube.api_client(), pool=WorkerPool(8, max_pending=64), update_interval=0)
        app = build_app(services, token=slack.token, api_url=slack.api_url, signing_secret=SECRET)
        server = waitress.create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=16)
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{server.effective_port}/slack/events"

        # One quiet diagnosis: how many Slack calls it costs.
        post_signed(url, slash_command_body(text=f"diagnose {NS}", user_id=USER, channel_id=CHANNEL), SECRET)
        slack.wait_for(lambda: len(slack.calls("chat.postMessage")) >= 2, timeout=30)
        time.sleep(1.0)  # let the proposal's thread messages land
        calls_per_diagnosis = len(slack.calls())

        kube.set_latency(0.050)

        def one(_: int) -> float:
            body = slash_command_body(text=f"diagnose {NS}", user_id=USER, channel_id=CHANNEL)
            start = time.perf_counter()
            status, _, _ = post_signed(url, body, SECRET, timeout=10)
            assert status == 200
            return time.perf_counter() - start

        with ThreadPoolExecutor(CONCURRENT) as pool:
            latencies = sorted(pool.map(one, range(CONCURRENT)))
        server.close()
        services.pool.shutdown()
        store.close()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    print(f"Slack API calls for one diagnosis (incl. auth, progress updates, proposal, dry run): "
          f"{calls_per_diagnosis}")
    print(f"ack latency of {CONCURRENT} concurrent /seldon diagnose, Kubernetes API at +50 ms per request: "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (Slack's limit: 3000 ms)")


if __name__ == "__main__":
    main()
