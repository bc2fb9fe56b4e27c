"""The Bolt app and how it is served: Socket Mode (no public ingress) or HTTP behind waitress.

Both modes run the same listeners. HTTP mode serves Bolt's WSGI adapter with waitress, a
production WSGI server, rather than `app.start()`'s development server, which resets connections
under bursts of concurrent commands. Request signatures and timestamps are verified by Bolt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.observability.bolt import observe_requests
from bot.observability.health import HEALTH_PATHS, Health
from bot.observability.instrument import ContextThreadPoolExecutor, instrument_web_client
from bot.slack.listeners import register
from bot.slack.services import Services

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


def web_client(token: str, api_url: str) -> WebClient:
    """A client that waits out 429s (Retry-After) and retries dropped connections; its calls are metered."""
    client = WebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3), ConnectionErrorRetryHandler(max_retry_count=2)],
    )
    return instrument_web_client(client)


def build_app(services: Services, *, token: str, api_url: str, signing_secret: str | None) -> App:
    app = App(
        client=web_client(token, api_url),
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=ContextThreadPoolExecutor(max_workers=10, thread_name_prefix="seldon-listener"),
    )
    app.middleware(observe_requests)  # correlation ids, Slack API and command metrics
    register(app, services)
    return app


def wsgi_app(app: App, health: Health | None = None) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """`/slack/events` for Slack, `/healthz` (+ `/readyz`, `/metrics` with `health`) for the kubelet, else 404."""
    handler = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if health is not None and path in HEALTH_PATHS:
            return health.wsgi(environ, start_response)
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == EVENTS_PATH:
            return handler(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application


def serve_http(app: App, *, host: str, port: int, threads: int = 16, health: Health | None = None) -> None:
    import waitress

    log.info("serving Slack events on http://%s:%d%s", host, port, EVENTS_PATH)
    waitress.serve(wsgi_app(app, health), host=host, port=port, threads=threads, ident="seldon-chatops")


def serve_socket(app: App, app_token: str, health: Health | None = None) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    if health is not None:
        health.bind_liveness(handler.client.is_connected)
    handler.start()
