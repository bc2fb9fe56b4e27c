"""`/healthz`, `/readyz` and `/metrics`: what the kubelet and Prometheus ask.

- `/healthz` (liveness): the process answers and its Slack connection is up: in Socket Mode the
  socket is connected; in HTTP mode answering this request is the proof that it serves. A bot
  whose socket stays down is restarted by the kubelet (the probe's threshold rides out reconnects).
- `/readyz` (readiness): the store answers `SELECT 1` and the Kubernetes API answers `/version`,
  each within a short timeout, checked concurrently. A bot that cannot reach either cannot do its
  work, but restarting it would not help, so this is readiness, not liveness.
- `/metrics`: the Prometheus text format of `bot.observability.metrics.REGISTRY`.

Socket Mode has no HTTP server of its own, so `HealthServer` serves these on a small server in a
thread; in HTTP mode `bot.slack.app.wsgi_app` routes the same paths here, on the events port.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import sqlalchemy as sa

from bot.observability import metrics
from bot.observability.logging import SCRUBBER

log = logging.getLogger(__name__)

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Check = Callable[[], None]


def store_check(store: Any) -> Check:
    """`SELECT 1` on a pooled connection of the store's engine."""

    def check() -> None:
        with store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    return check


def kube_check(api: Any, timeout: float) -> Check:
    """`GET /version`: every authenticated identity may read it (system:public-info-viewer)."""
    from kubernetes import client

    def check() -> None:
        client.VersionApi(api).get_code(_request_timeout=timeout)

    return check


class Health:
    def __init__(
        self,
        checks: dict[str, Check] | None = None,
        *,
        live: Callable[[], bool] | None = None,
        timeout: float = 2.0,
    ) -> None:
        self.checks = dict(checks or {})
        self.timeout = timeout
        self._live = live or (lambda: True)
        self._pool = ThreadPoolExecutor(max_workers=max(len(self.checks), 1) * 2, thread_name_prefix="seldon-ready")

    @classmethod
    def for_bot(cls, store: Any, kube: Any, *, socket_mode: bool, timeout: float = 2.0) -> Health:
        """Socket Mode starts not live: `serve_socket` binds the connection state once it has a client."""
        return cls(
            {"store": store_check(store), "kubernetes": kube_check(kube, timeout)},
            live=(lambda: False) if socket_mode else None,
            timeout=timeout,
        )

    def bind_liveness(self, live: Callable[[], bool]) -> None:
        self._live = live

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        try:
            up = bool(self._live())
        except Exception as exc:  # a probe must answer, whatever the connection object does
            log.warning("liveness check failed: %s", exc)
            up = False
        return up, {"status": "ok" if up else "slack connection down"}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        futures = {name: self._pool.submit(check) for name, check in self.checks.items()}
        results: dict[str, str] = {}
        for name, future in futures.items():
            try:
                future.result(timeout=self.timeout)
                results[name] = "ok"
            except FutureTimeout:
                results[name] = f"timeout after {self.timeout:g}s"
            except Exception as exc:  # the reason goes to the probe's answer, scrubbed: it may quote a URL
                results[name] = SCRUBBER(f"{type(exc).__name__}: {exc}")[:300]
        ready = all(r == "ok" for r in results.values())
        if not ready:
            log.warning("not ready: %s", results)
        return ready, {"status": "ok" if ready else "unavailable", "checks": results}

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, content_type = metrics.render()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        if path in ("/healthz", "/readyz"):
            ok, answer = self.liveness() if path == "/healthz" else self.readiness()
            body = (json.dumps(answer) + "\n").encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # probes every few seconds would drown the log; Prometheus and the kubelet keep their own


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck scrape never holds up shutdown

    def server_bind(self) -> None:
        """As WSGIServer's, without the reverse DNS lookup (getfqdn) that can stall start-up in a pod."""
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


class HealthServer:
    """`Health` on its own port, in a daemon thread (Socket Mode has no HTTP server to share).

    The standard library's WSGI server: probes and scrapes are a few small requests a minute, and
    unlike waitress it stops cleanly from another thread (`shutdown`).
    """

    def __init__(self, health: Health, *, host: str, port: int) -> None:
        self._server = make_server(
            host, port, health.wsgi, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="seldon-health", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("serving /healthz, /readyz and /metrics on port %d", self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
