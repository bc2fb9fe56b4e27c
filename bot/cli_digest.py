"""`seldon-chatops digest NAMESPACE [--post]`: a tenant's digest now, printed or posted to Slack.

The same content as the scheduled digest (compared with the tenant's last scheduled digest when the
store has one), read with the same collector as `diagnose`. Posting is an on-request digest: it does
not claim a slot and does not move the baseline of the scheduled ones. Exit codes as `diagnose`:
0 healthy, 1 findings, 2 usage, input or cluster error.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.diagnosis.engine import diagnose
from bot.digest.blocks import DigestRenderer
from bot.digest.collect import TenantRead
from bot.digest.plan import effective_schedules
from bot.digest.runner import tenant_content
from bot.digest.state import DigestState
from bot.errors import InputError
from bot.names import validate_namespace
from bot.playbooks import load_playbook
from bot.settings import BotConfig, Secrets, load_config
from bot.snapshot import TenantSnapshot
from bot.store import DatabaseUnavailable
from bot.store.clock import system_clock
from bot.store.store import Store

Collect = Callable[[argparse.Namespace], TenantSnapshot]
ClusterArguments = Callable[[argparse.ArgumentParser], None]
EXIT_HEALTHY, EXIT_FINDINGS = 0, 1


def add_parser(sub: argparse._SubParsersAction, cluster_arguments: ClusterArguments) -> None:
    parser = sub.add_parser("digest", help="print (or post to Slack) a tenant's health digest now")
    parser.add_argument("namespace")
    parser.add_argument(
        "--post", action="store_true", help="post it to the tenant's digest channel (needs SLACK_BOT_TOKEN)"
    )
    parser.add_argument("--channel", help="post to this channel id instead of the tenant's")
    parser.add_argument("--output", choices=("text", "json"), default="text", help="json: the Slack payload")
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("SELDON_CHATOPS_CONFIG", "config.yaml")),
        help="tenants YAML, for the channel (default: $SELDON_CHATOPS_CONFIG or ./config.yaml)",
    )
    parser.add_argument("--database-url", help="store URL (default: $SELDON_CHATOPS_DATABASE_URL or the state dir)")
    cluster_arguments(parser)


def run(args: argparse.Namespace, collect: Collect) -> int:
    validate_namespace(args.namespace)
    config = _config(args)
    snapshot = collect(args)
    diagnosis = diagnose(snapshot, load_playbook("diagnose", None))
    read = TenantRead(args.namespace, snapshot, diagnosis)
    store = _store(args.database_url)
    try:
        content = tenant_content(store, read, slot=None, now=system_clock())
        payload = DigestRenderer().message(content)
        if args.post:
            _post(args, config, store, payload)
        elif args.output == "json":
            print(json.dumps(payload, indent=2, ensure_ascii=False))
        else:
            print(as_text(payload))
    finally:
        if store is not None:
            store.close()
    return EXIT_HEALTHY if content.error is None and content.healthy else EXIT_FINDINGS


def as_text(payload: dict[str, Any]) -> str:
    """The message's blocks as terminal lines (mrkdwn entities unescaped, emoji codes kept)."""
    lines = []
    for block in payload["blocks"]:
        if block["type"] in ("header", "section"):
            lines.append(block["text"]["text"])
        elif block["type"] == "context":
            lines.append(" ".join(e["text"] for e in block["elements"]))
    return html.unescape("\n\n".join(lines))


def _config(args: argparse.Namespace) -> BotConfig | None:
    """The config is needed to post (where to); to print, a missing file is fine."""
    if not args.config.is_file() and not args.post:
        return None
    return load_config(args.config)


def _store(url: str | None) -> Store | None:
    """The store gives the comparison with the last digest, open proposals and remediations; optional to print."""
    try:
        return Store.open(url, create=False)
    except DatabaseUnavailable as exc:
        print(f"seldon-chatops: note: no store ({exc}); digest without history", file=sys.stderr)
        return None


def _post(args: argparse.Namespace, config: BotConfig | None, store: Store | None, payload: dict[str, Any]) -> None:
    from bot.slack.app import web_client  # Slack is needed only to post

    channel = args.channel or _channel(args.namespace, config, store)
    secrets = Secrets()
    if secrets.slack_bot_token is None:
        raise InputError("--post needs SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) in the environment")
    client = web_client(secrets.slack_bot_token.get_secret_value(), secrets.slack_api_url)
    posted = client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **payload)
    print(f"posted the digest of {args.namespace} to {channel} (ts {posted['ts']})")


def _channel(namespace: str, config: BotConfig | None, store: Store | None) -> str:
    tenant = config.tenant(namespace) if config else None
    if config is None or tenant is None:
        raise InputError(f"{namespace!r} is not a tenant in the config; give --channel to post anyway")
    overrides = DigestState(store.engine, store.clock).overrides() if store is not None else {}
    plan = effective_schedules(config, overrides).get(namespace)
    return plan.channel if plan else tenant.channel
