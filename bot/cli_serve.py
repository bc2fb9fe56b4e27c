"""`seldon-chatops serve`: start the Slack app (Socket Mode by default, or HTTP)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from bot.cluster.client import api_client
from bot.digest.runtime import start_digests
from bot.errors import InputError
from bot.observability import metrics
from bot.observability.health import Health, HealthServer
from bot.observability.instrument import ObservedWorkerPool, instrument_checks, instrument_kube
from bot.observability.logging import configure_logging, secret_values
from bot.remediation.executor import applied_state
from bot.remediation.kube import KubeTarget
from bot.settings import Secrets, load_config
from bot.slack.app import build_app, serve_http, serve_socket, web_client
from bot.slack.authz import Authorizer
from bot.slack.services import Services
from bot.store.models import ProposalRecord
from bot.store.store import Store

log = logging.getLogger("seldon_chatops")


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the Slack app")
    serve.add_argument("--mode", choices=("socket", "http"), default=os.environ.get("SELDON_CHATOPS_MODE", "socket"))
    serve.add_argument("--port", type=int, default=3000, help="HTTP mode port (default 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="bind address (HTTP mode, and the health port)")
    serve.add_argument(
        "--health-port",
        type=int,
        default=int(os.environ.get("SELDON_CHATOPS_HEALTH_PORT", "8080")),
        help="Socket Mode: port of /healthz, /readyz, /metrics (HTTP mode serves them on --port)",
    )
    serve.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("SELDON_CHATOPS_CONFIG", "config.yaml")),
        help="tenants and policy YAML (default: $SELDON_CHATOPS_CONFIG or ./config.yaml)",
    )
    serve.add_argument("--kubeconfig", type=Path)
    serve.add_argument("--context")


def serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    secrets = Secrets()
    configure_logging(secret_values(secrets))  # JSON lines, scrubbed of these values and of token shapes
    secrets.require(args.mode)
    token = secrets.slack_bot_token.get_secret_value() if secrets.slack_bot_token else ""
    client = web_client(token, secrets.slack_api_url)

    def group_members(group: str) -> set[str]:
        return set(client.usergroups_users_list(usergroup=group).get("users") or [])

    database_url = secrets.seldon_chatops_database_url
    store = Store.open(database_url.get_secret_value() if database_url else None)
    kube, where = api_client(args.kubeconfig, args.context)
    instrument_kube(kube)
    instrument_checks()
    metrics.track_store(store)
    services = Services(
        config=config,
        authz=Authorizer(config, group_members),
        store=store,
        kube=kube,
        pool=ObservedWorkerPool(config.workers),
    )
    target = KubeTarget(kube)

    def reconcile(record: ProposalRecord) -> str:
        return applied_state(target, record.proposal)

    report = store.recover(reconcile, replica_id=services.replica_id)
    log.info("store %s ready (%s); kubernetes: %s", store.url, report, where)
    signing = secrets.slack_signing_secret.get_secret_value() if secrets.slack_signing_secret else None
    app = build_app(
        services, token=token, api_url=secrets.slack_api_url, signing_secret=signing if args.mode == "http" else None
    )
    # Only the replica holding the Lease posts digests; every replica answers commands.
    digests = start_digests(services, app.client, kube, replica_id=os.environ.get("HOSTNAME", services.replica_id))
    health = Health.for_bot(store, kube, socket_mode=args.mode == "socket")
    health_server = None if args.mode == "http" else HealthServer(health, host=args.host, port=args.health_port).start()
    try:
        if args.mode == "http":
            serve_http(app, host=args.host, port=args.port, health=health)
        else:
            if secrets.slack_app_token is None:
                raise InputError("socket mode needs SLACK_APP_TOKEN")
            serve_socket(app, secrets.slack_app_token.get_secret_value(), health=health)
    finally:
        digests.stop()  # hands the Lease over at once
        if health_server is not None:
            health_server.close()
        health.close()
        metrics.track_store(None)
        services.pool.shutdown()
        store.close()
    return 0
