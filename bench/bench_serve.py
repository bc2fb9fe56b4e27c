"""Start-up time to ready and idle memory of `seldon-chatops serve --mode http` with 50 tenants.

The bot runs as it does in a pod: its own process, the real CLI, a config of 50 tenants, SQLite in a
temporary directory, the fake Kubernetes API server (tests/fakekube) in another process and the fake
Slack Web API (tests/fakeslack) in this one, all on 127.0.0.1. Start-up is measured from spawning the
process to the first 200 from `/readyz` (store and API server both answered); idle RSS is read from
/proc after the bot has been ready and quiet for a moment, then again after one `/seldon diagnose`.
Targets: ready in under 2 s, idle RSS under 150 MB. Run: `python bench/bench_serve.py`.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakeslack import FakeSlack  # noqa: E402
from fakeslack.signing import post_signed, slash_command_body  # noqa: E402

TENANTS, RUNS = 50, 3
SECRET, USER, NS = "bench-signing-secret", "U0BENCH001", "financial-ml"
READY_TARGET_S, RSS_TARGET_MB = 2.0, 150.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path) -> list[str]:
    """50 tenants; the first is the example bundle's namespace, which the fake cluster serves."""
    namespaces = [NS] + [f"tenant-{i:02d}" for i in range(1, TENANTS)]
    tenants = [
        {"namespace": ns, "channel": f"C0BENCH{i:03d}", "requesters": [USER], "approvers": [USER]}
        for i, ns in enumerate(namespaces)
    ]
    path.write_text(yaml.safe_dump({"tenants": tenants}), encoding="utf-8")
    return [t["channel"] for t in tenants]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.005)
    raise TimeoutError("not ready")


def one_run(work: Path, kubeconfig: Path, slack: FakeSlack, channels: list[str], diagnose: bool) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SELDON_CHATOPS_DATABASE_URL": f"sqlite:///{work / f'bot-{port}.db'}",
        "SELDON_CHATOPS_LOG_FORMAT": "json",
    }
    env.pop("KUBECONFIG", None)
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--mode",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(work / "config.yaml"),
        "--kubeconfig",
        str(kubeconfig),
    ]
    log = (work / f"serve-{port}.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/readyz", process) - started
        time.sleep(1.0)
        figures = {"ready_s": ready, "idle_rss_mb": rss_mb(process.pid)}
        if diagnose:
            body = slash_command_body(text=f"diagnose {NS}", user_id=USER, channel_id=channels[0])
            status, _, _ = post_signed(f"http://127.0.0.1:{port}/slack/events", body, SECRET)
            assert status == 200, status
            slack.wait_for(lambda: any("Root cause" in str(m.blocks) for m in slack.messages(channels[0])), 30)
            time.sleep(0.5)
            figures["rss_after_diagnosis_mb"] = rss_mb(process.pid)
        return figures
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack:
        work = Path(tmp)
        channels = write_config(work / "config.yaml")
        for i, channel in enumerate(channels):
            slack.add_channel(channel, f"bench-{i:02d}")
        slack.add_user(USER, "bench")
        kubeconfig = work / "kubeconfig"
        kube = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fakekube",
                "--bundle",
                str(ROOT / "examples" / "zero-capacity"),
                "--kubeconfig",
                str(kubeconfig),
            ],
            cwd=ROOT / "tests",
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert kube.stdout is not None
            kube.stdout.readline()  # the kubeconfig path: the fake API server listens
            runs = [one_run(work, kubeconfig, slack, channels, diagnose=i == RUNS - 1) for i in range(RUNS)]
        finally:
            kube.terminate()
            kube.communicate(timeout=10)
    ready = [r["ready_s"] for r in runs]
    idle = [r["idle_rss_mb"] for r in runs]
    print(f"seldon-chatops serve --mode http, {TENANTS} tenants, SQLite, fake Slack + fake Kubernetes on 127.0.0.1")
    print(f"{'run':>4} {'ready s':>8} {'idle RSS MB':>12}")
    for i, run in enumerate(runs, 1):
        print(f"{i:>4} {run['ready_s']:>8.2f} {run['idle_rss_mb']:>12.1f}")
    print(
        f"median ready {statistics.median(ready):.2f} s (target < {READY_TARGET_S:g} s), "
        f"median idle RSS {statistics.median(idle):.1f} MB (target < {RSS_TARGET_MB:g} MB)"
    )
    print(f"RSS after one /seldon diagnose: {runs[-1]['rss_after_diagnosis_mb']:.1f} MB")
    ok = statistics.median(ready) < READY_TARGET_S and statistics.median(idle) < RSS_TARGET_MB
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
