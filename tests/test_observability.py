"""Health, readiness, metrics and logs, over real HTTP on 127.0.0.1.

The endpoints are asked what the kubelet and Prometheus ask; the Bolt app runs with its real
middleware against the fake Slack and Kubernetes servers; `serve` itself runs as a subprocess the way
the container runs it. Log lines are parsed as JSON and searched for every secret the bot was given.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import waitress
import yaml
from fakekube import FakeKube
from fakeslack import FakeSlack
from fakeslack.signing import post_signed, slash_command_body

from bot.cluster.bundle import load_bundle
from bot.diagnosis.checks import CATALOGUE
from bot.diagnosis.engine import diagnose
from bot.diagnosis.view import TenantView
from bot.observability import metrics
from bot.observability.health import Health, HealthServer
from bot.observability.instrument import (
    ObservedWorkerPool,
    instrument_checks,
    instrument_kube,
    kube_request_labels,
)
from bot.observability.logging import (
    CORRELATION_ID,
    SCRUBBER,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    correlation,
    secret_values,
)
from bot.playbooks import load_playbook
from bot.settings import BotConfig, Secrets, Tenant
from bot.slack.app import build_app, wsgi_app
from bot.slack.authz import Authorizer
from bot.slack.services import Services
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
SECRET = "observability-signing-secret"
NS, CHANNEL, ALICE, MALLORY = "financial-ml", "C0FINANCE1", "U0ALICE001", "U0MALLORY1"
BOT_TOKEN = "xoxb-1111111111-2222222222-abcdefABCDEFabcdef123456"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"
DB_PASSWORD = "pg-Pa55word-that-is-secret"


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The root logger writing JSON to a buffer; the previous handlers come back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(fmt="json", level="INFO", stream=buffer, crash_hooks=False)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        SCRUBBER.clear()


def parsed(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


# -- health server --------------------------------------------------------------------------------


def test_health_endpoints_answer_probes_and_prometheus() -> None:
    up = {"store": True}

    def store() -> None:
        if not up["store"]:
            raise RuntimeError(f"cannot connect to postgresql://bot:{DB_PASSWORD}@db:5432/chatops")

    health = Health({"store": store, "kubernetes": lambda: None}, timeout=0.5)
    server = HealthServer(health, host="127.0.0.1", port=0).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        status, body, kind = get(f"{base}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"}) and kind == "application/json"
        status, body, _ = get(f"{base}/readyz")
        assert status == 200 and json.loads(body)["checks"] == {"store": "ok", "kubernetes": "ok"}

        up["store"] = False
        status, body, _ = get(f"{base}/readyz")
        answer = json.loads(body)
        assert status == 503 and answer["status"] == "unavailable"
        assert answer["checks"]["kubernetes"] == "ok" and answer["checks"]["store"].startswith("RuntimeError")
        assert DB_PASSWORD not in body.decode(), "a probe's answer must not quote a credential"

        status, body, kind = get(f"{base}/metrics")
        text = body.decode()
        assert status == 200 and kind.startswith("text/plain")
        for name in (
            "seldon_chatops_commands_total",
            "seldon_chatops_kubernetes_request_duration_seconds",
            "seldon_chatops_slack_api_duration_seconds",
            "process_resident_memory_bytes",
        ):
            assert f"# TYPE {name.removesuffix('_total')}" in text or f"# HELP {name}" in text, name
        assert get(f"{base}/slack/events")[0] == 404
    finally:
        server.close()
        health.close()


def test_readiness_times_out_a_hanging_dependency() -> None:
    hang = threading.Event()
    health = Health({"store": lambda: None, "kubernetes": lambda: hang.wait(5) and None}, timeout=0.2)
    try:
        start = time.perf_counter()
        ready, answer = health.readiness()
        assert not ready and answer["checks"]["kubernetes"] == "timeout after 0.2s"
        assert time.perf_counter() - start < 1.0
    finally:
        hang.set()
        health.close()


def test_socket_mode_is_not_live_until_the_socket_connects() -> None:
    health = Health({}, live=lambda: False)
    assert health.liveness()[0] is False
    connected = {"now": False}
    health.bind_liveness(lambda: connected["now"])
    assert health.liveness()[0] is False
    connected["now"] = True
    assert health.liveness() == (True, {"status": "ok"})


def test_readiness_against_a_real_store_and_the_fake_api_server(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    kube = FakeKube().start()
    health = Health.for_bot(store, kube.api_client(), socket_mode=False, timeout=2.0)
    try:
        assert health.readiness() == (True, {"status": "ok", "checks": {"store": "ok", "kubernetes": "ok"}})
        kube.stop()
        ready, answer = health.readiness()
        assert not ready and answer["checks"]["store"] == "ok" and answer["checks"]["kubernetes"] != "ok"
    finally:
        health.close()
        kube.stop()
        store.close()


# -- the Bolt app in HTTP mode --------------------------------------------------------------------


@dataclass
class App:
    url: str
    slack: FakeSlack
    kube: FakeKube


@pytest.fixture
def http_app(tmp_path: Path) -> Iterator[App]:
    with FakeKube() as kube, FakeSlack() as slack:
        kube.seed_bundle(ROOT / "examples" / "zero-capacity")
        slack.add_channel(CHANNEL, "financial-ml")
        for user in (ALICE, MALLORY):
            slack.add_user(user, user.lower())
        config = BotConfig(tenants=[Tenant(namespace=NS, channel=CHANNEL, requesters=[ALICE], approvers=[ALICE])])
        store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
        api = instrument_kube(kube.api_client())
        services = Services(
            config=config,
            authz=Authorizer(config, lambda _: set()),
            store=store,
            kube=api,
            pool=ObservedWorkerPool(2),
            update_interval=0,
        )
        app = build_app(services, token=slack.token, api_url=slack.api_url, signing_secret=SECRET)
        health = Health.for_bot(store, api, socket_mode=False)
        metrics.track_store(store)
        server = waitress.create_server(wsgi_app(app, health), host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield App(f"http://127.0.0.1:{server.effective_port}", slack, kube)
        finally:
            stop_waitress(server, thread)
            metrics.track_store(None)
            health.close()
            services.pool.shutdown()
            store.close()


def stop_waitress(server: Any, thread: threading.Thread) -> None:
    """Close waitress from inside its own loop: closing its sockets from this thread races the loop's
    select(), and a late close in that thread can hit a descriptor number a later test reuses."""

    def close_all() -> None:
        for channel in list(server._map.values()):
            channel.close()

    server.trigger.pull_trigger(close_all)
    thread.join(timeout=5)
    if thread.is_alive():
        server.close()
    server.task_dispatcher.shutdown()


def command(app: App, text: str, user: str = ALICE) -> tuple[int, bytes]:
    status, _, body = post_signed(
        f"{app.url}/slack/events", slash_command_body(text=text, user_id=user, channel_id=CHANNEL), SECRET
    )
    return status, body


def test_http_mode_serves_probes_and_metrics_next_to_slack_events(http_app: App) -> None:
    assert get(f"{http_app.url}/healthz")[0] == 200
    status, body, _ = get(f"{http_app.url}/readyz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, body, _ = get(f"{http_app.url}/metrics")
    assert status == 200 and 'seldon_chatops_proposals{state="PENDING"}' in body.decode()
    assert command(http_app, "help")[0] == 200, "Slack events still reach Bolt"


def test_commands_slack_and_kubernetes_calls_are_counted(http_app: App, log_lines: io.StringIO) -> None:
    before = {
        outcome: sample("seldon_chatops_commands_total", command=verb, outcome=outcome)
        for verb, outcome in (
            ("help", "help"),
            ("invalid", "invalid"),
            ("diagnose", "refused"),
            ("diagnose", "accepted"),
        )
    }
    posts = sample("seldon_chatops_slack_api_calls_total", method="chat.postMessage", outcome="ok")
    lists = sample("seldon_chatops_kubernetes_requests_total", verb="list", resource="pods", code="200")
    logs = sample("seldon_chatops_kubernetes_requests_total", verb="get", resource="pods/log", code="200")

    assert command(http_app, "help")[0] == 200
    assert command(http_app, "frobnicate financial-ml")[0] == 200
    assert command(http_app, "diagnose financial-ml", user=MALLORY)[0] == 200  # not a requester
    status, body = command(http_app, "diagnose financial-ml")
    assert status == 200 and b"On it" in body
    http_app.slack.wait_for(
        lambda: any("Root cause" in json.dumps(m.blocks) for m in http_app.slack.messages(CHANNEL)), timeout=20
    )

    after = {
        outcome: sample("seldon_chatops_commands_total", command=verb, outcome=outcome)
        for verb, outcome in (
            ("help", "help"),
            ("invalid", "invalid"),
            ("diagnose", "refused"),
            ("diagnose", "accepted"),
        )
    }
    assert {k: after[k] - before[k] for k in after} == {"help": 1, "invalid": 1, "refused": 1, "accepted": 1}
    assert sample("seldon_chatops_slack_api_calls_total", method="chat.postMessage", outcome="ok") > posts
    assert sample("seldon_chatops_kubernetes_requests_total", verb="list", resource="pods", code="200") > lists
    assert sample("seldon_chatops_kubernetes_requests_total", verb="get", resource="pods/log", code="200") > logs
    assert sample("seldon_chatops_kubernetes_request_duration_seconds_count", verb="list", resource="pods") > 0

    lines = parsed(log_lines)
    received = [x for x in lines if x["message"].startswith("slash command /seldon diagnose")]
    acked = [x for x in lines if x["message"] == "/seldon diagnose: accepted"]
    assert received and acked
    # The id bound by the middleware (Bolt's thread) is the one the listener (another thread) logs with.
    assert acked[0]["correlation_id"] == received[-1]["correlation_id"]
    assert all(x["correlation_id"].startswith("slack-") for x in received + acked)


def test_worker_pool_keeps_the_correlation_id_and_counts_refusals() -> None:
    pool = ObservedWorkerPool(1, max_pending=1)
    gate = threading.Event()
    try:
        with correlation("run-abc123"):
            first: Future | None = pool.submit(lambda: (gate.wait(5), CORRELATION_ID.get())[1])
            refused = sample("seldon_chatops_work_refused_total")
            assert pool.submit(lambda: None) is None
            assert sample("seldon_chatops_work_refused_total") == refused + 1
        assert sample("seldon_chatops_work_in_flight") >= 1
        gate.set()
        assert first is not None and first.result(timeout=5) == "run-abc123"
    finally:
        gate.set()
        pool.shutdown()


def test_checks_are_timed_without_changing_their_results() -> None:
    snapshot = load_bundle(ROOT / "examples" / "zero-capacity")
    playbook = load_playbook("diagnose")
    plain = diagnose(snapshot, playbook)
    catalogue = dict(CATALOGUE)
    instrument_checks(catalogue)
    instrument_checks(catalogue)  # idempotent: timed once
    check_id = playbook.check_ids[0]
    before = sample("seldon_chatops_check_duration_seconds_count", check=check_id)
    result, _ = catalogue[check_id].run(TenantView(snapshot))
    assert sample("seldon_chatops_check_duration_seconds_count", check=check_id) == before + 1
    assert result == next(c for c in plain.checks if c.id == check_id)
    assert sample("seldon_chatops_check_results_total", check=check_id, status=result.status) >= 1


@pytest.mark.parametrize(
    ("method", "url", "labels"),
    [
        ("GET", "https://k/api/v1/namespaces/ml/pods?limit=5", ("list", "pods")),
        ("GET", "https://k/api/v1/namespaces/ml/pods/p-0/log?container=agent", ("get", "pods/log")),
        ("GET", "https://k/api/v1/namespaces/ml", ("get", "namespaces")),
        (
            "PATCH",
            "https://k/apis/mlops.seldon.io/v1alpha1/namespaces/ml/servers/mlserver",
            ("patch", "servers.mlops.seldon.io"),
        ),
        ("GET", "https://k/apis/apps/v1/namespaces/ml/statefulsets/mlserver", ("get", "statefulsets.apps")),
        (
            "POST",
            "https://k/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            ("create", "selfsubjectaccessreviews.authorization.k8s.io"),
        ),
        ("GET", "https://k/version", ("get", "version")),
    ],
)
def test_kubernetes_requests_are_labelled_as_rbac_names_them(method: str, url: str, labels: tuple[str, str]) -> None:
    assert kube_request_labels(method, url) == labels


# -- logs -----------------------------------------------------------------------------------------


def test_json_log_lines_carry_the_correlation_id_and_never_a_secret(
    monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f14e45fceea167a5a36dedd4bea2543")
    monkeypatch.setenv("SELDON_CHATOPS_DATABASE_URL", f"postgresql+psycopg://bot:{DB_PASSWORD}@db:5432/chatops")
    secrets = Secrets()
    configure_logging(secret_values(secrets), fmt="json", level="INFO", stream=log_lines, crash_hooks=False)
    log = logging.getLogger("seldon_chatops.test")

    with correlation("slack-0123456789ab"):
        log.info("calling Slack with %s and the app token %s", BOT_TOKEN, APP_TOKEN)
        log.warning(
            "signing secret is 8f14e45fceea167a5a36dedd4bea2543",
            extra={"headers": {"Authorization": f"Bearer {BOT_TOKEN}"}},
        )
        log.info("database %s", os.environ["SELDON_CHATOPS_DATABASE_URL"])  # the whole URL is a secret value
        log.info("replica at postgresql://other:hunter2hunter2@db2/x")  # an unknown URL: its password goes
        log.info("a token that was never configured: xoxp-9999-8888-unknown")
        try:
            raise RuntimeError(f"Slack said no to token={BOT_TOKEN}")
        except RuntimeError:
            log.exception("request failed")
    log.info("outside any request")

    text = log_lines.getvalue()
    for secret in (
        BOT_TOKEN,
        APP_TOKEN,
        "8f14e45fceea167a5a36dedd4bea2543",
        DB_PASSWORD,
        "xoxp-9999-8888-unknown",
        "hunter2hunter2",
    ):
        assert secret not in text, secret
    lines = parsed(log_lines)
    assert len(lines) == 7
    assert all(x["correlation_id"] == "slack-0123456789ab" for x in lines[:6])
    assert "correlation_id" not in lines[6]
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "seldon_chatops.test"
    assert "<redacted>" in lines[0]["message"] and "<redacted>" in lines[5]["exception"]
    assert lines[2]["message"] == "database <redacted>"
    assert lines[3]["message"] == "replica at postgresql://other:<redacted>@db2/x"
    assert lines[1]["headers"] == {"Authorization": "Bearer <redacted>"}


def test_a_crash_is_one_scrubbed_json_line(monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored afterwards
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    configure_logging([BOT_TOKEN], fmt="json", level="INFO", stream=log_lines)
    try:
        raise ValueError(f"bad token {BOT_TOKEN}")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    (line,) = parsed(log_lines)
    assert line["level"] == "CRITICAL" and line["message"] == "uncaught ValueError"
    assert "ValueError: bad token <redacted>" in line["exception"] and BOT_TOKEN not in log_lines.getvalue()


def test_text_format_scrubs_too() -> None:
    SCRUBBER.add([BOT_TOKEN])
    try:
        record = logging.makeLogRecord({"msg": "token %s", "args": (BOT_TOKEN,), "levelname": "INFO"})
        assert BOT_TOKEN not in JsonFormatter().format(record)
        assert BOT_TOKEN not in TextFormatter().format(record)
    finally:
        SCRUBBER.clear()


# -- `serve` as the container runs it ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_http_mode_is_ready_and_logs_json_without_the_token(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"tenants": [{"namespace": NS, "channel": CHANNEL}]}), encoding="utf-8")
    (tmp_path / "token").write_text(BOT_TOKEN + "\n", encoding="utf-8")
    with FakeKube() as kube, FakeSlack(token=BOT_TOKEN) as slack:
        kube.seed_bundle(ROOT / "examples" / "zero-capacity")
        kube.write_kubeconfig(tmp_path / "kubeconfig")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KUBECONFIG"))}
        env |= {
            "SLACK_BOT_TOKEN_FILE": str(tmp_path / "token"),
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "SELDON_CHATOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "SELDON_CHATOPS_LOG_FORMAT": "json",
        }
        process = subprocess.Popen(
            [
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
                str(config),
                "--kubeconfig",
                str(tmp_path / "kubeconfig"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()[1]
                try:
                    if get(f"http://127.0.0.1:{port}/readyz", timeout=1)[0] == 200:
                        break
                except (urllib.error.URLError, ConnectionError):
                    pass
                time.sleep(0.02)
            else:
                pytest.fail("serve never became ready")
            assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
            status, body, _ = get(f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and 'seldon_chatops_kubernetes_requests_total{code="200",resource="version"' in (
                body.decode()
            )
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any("store" in x["message"] and "ready" in x["message"] for x in lines), stderr
    assert BOT_TOKEN not in stderr
