"""The Slack app under test: the Bolt app over HTTP (waitress) against FakeSlack and FakeKube with the fake
operator, and the store; plus `Bot`, a driver that sends signed requests and waits for the bot's messages.

`running_bot` has knobs for tenant settings, the worker pool and user groups (read from the fake Slack as
the real app does).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import waitress
from clocks import FakeClock
from fakekube import FakeKube, FakeSeldonOperator
from fakeslack import FakeSlack
from fakeslack.signing import block_actions_body, post_signed, slash_command_body

from bot.settings import BotConfig, Tenant
from bot.slack import ids
from bot.slack.app import build_app, wsgi_app
from bot.slack.authz import Authorizer
from bot.slack.services import Services, WorkerPool
from bot.store.store import Store

__all__ = ["ALICE", "AUDIT", "BOB", "CHANNEL", "EVE", "NS", "SECRET", "Bot", "FakeClock", "running_bot"]


ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-signing-secret"
NS, CHANNEL, AUDIT = "financial-ml", "C0FINANCE1", "C0AUDIT001"
ALICE, BOB, EVE = "U0ALICE001", "U0BOB00001", "U0EVE00001"
CAPACITY_LOG = (
    'time="2026-11-27T10:00:00Z" level=info msg="Setting memory request from env MEMORY_REQUEST with value {}"'
)


START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@dataclass
class Bot:
    kube: FakeKube
    slack: FakeSlack
    store: Store
    url: str
    clock: FakeClock
    services: Services | None = None

    def command(
        self, text: str, user: str = ALICE, *, secret: str = SECRET, timestamp: int | None = None
    ) -> tuple[int, bytes]:
        body = slash_command_body(text=text, user_id=user, user_name=user.lower(), channel_id=CHANNEL)
        status, _, answer = post_signed(self.url, body, secret, timestamp=timestamp)
        return status, answer

    def click(self, message, action_id: str, user: str) -> tuple[int, bytes]:
        body = block_actions_body(action_id, message=message, user_id=user, user_name=user.lower(), channel_id=CHANNEL)
        status, _, answer = post_signed(self.url, body, SECRET)
        return status, answer

    def final_diagnosis(self):
        def done():
            messages = [m for m in self.slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]
            return next((m for m in messages if "Root cause" in json.dumps(m.blocks)), None)

        return self.slack.wait_for(done, timeout=45)

    def proposal_message(self, thread_ts: str):
        def posted():
            return next((m for m in self.slack.thread(CHANNEL, thread_ts) if ids.APPROVE in json.dumps(m.blocks)), None)

        return self.slack.wait_for(posted, timeout=45)

    def ephemeral_to(self, user: str, contains: str) -> str:
        def said():
            return next((e.text for e in self.slack.ephemerals(CHANNEL, user) if contains in e.text), None)

        return self.slack.wait_for(said, timeout=30)

    def server_memory(self) -> str | None:
        server = self.kube.get_object("mlops.seldon.io/v1alpha1", "Server", NS, "mlserver")
        containers = server["spec"]["podSpec"]["containers"]
        mlserver = next(c for c in containers if c["name"] == "mlserver")
        return ((mlserver.get("resources") or {}).get("requests") or {}).get("memory")

    def messages_with(self, needle: str, *, top_level: bool = True) -> list:
        found = [m for m in self.slack.messages(CHANNEL) if needle in m.text or needle in json.dumps(m.blocks)]
        return [m for m in found if m.thread_ts in (None, m.ts)] if top_level else found


@contextmanager
def running_bot(
    tmp_path: Path,
    *,
    tenant: dict[str, Any] | None = None,
    pool: WorkerPool | None = None,
    groups: dict[str, list[str]] | None = None,
    before_serve: Callable[[FakeKube, FakeSlack], None] | None = None,
    server_threads: int = 8,
) -> Iterator[Bot]:
    """`tenant` overrides the financial-ml Tenant's fields; `groups` are Slack user groups (id -> members),
    whose membership the Authorizer reads from the fake Slack (usergroups.users.list) as the real app does."""
    clock = FakeClock(START)
    with FakeKube() as kube, FakeSlack() as slack:
        kube.seed_bundle(ROOT / "examples" / "zero-capacity")

        def rolled(namespace: str, server: str, pods: list[dict]) -> None:
            for pod in pods:
                kube.set_log(namespace, pod["metadata"]["name"], "agent", [CAPACITY_LOG.format(2**30)])
            for model in kube.objects("models"):
                ready = [
                    {"type": t, "status": "True", "message": "ModelAvailable", "reason": ""}
                    for t in ("ModelReady", "Ready")
                ]
                kube.set_status(
                    model["apiVersion"],
                    "Model",
                    namespace,
                    model["metadata"]["name"],
                    {**model.get("status", {}), "conditions": ready},
                )

        FakeSeldonOperator(kube, auto=True, on_pods_rolled=rolled)
        for channel, name in ((CHANNEL, "financial-ml"), (AUDIT, "seldon-audit")):
            slack.add_channel(channel, name)
        for user in (ALICE, BOB, EVE):
            slack.add_user(user, user.lower())
        for group, members in (groups or {}).items():
            slack.add_usergroup(group, group.lower(), members)
        fields: dict[str, Any] = {
            "namespace": NS,
            "channel": CHANNEL,
            "audit_channel": AUDIT,
            "requesters": [ALICE],
            "approvers": [ALICE, BOB],
            **(tenant or {}),
        }
        config = BotConfig(tenants=[Tenant(**fields)], workers=4)
        web = slack.client()

        def group_members(group: str) -> set[str]:
            return set(web.usergroups_users_list(usergroup=group).get("users") or [])

        store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}", clock=clock)
        services = Services(
            config=config,
            authz=Authorizer(config, group_members),
            store=store,
            kube=kube.api_client(),
            pool=pool or WorkerPool(4),
            clock=clock,
            update_interval=0,
            poll_interval=0.01,
        )
        if before_serve:
            before_serve(kube, slack)
        app = build_app(services, token=slack.token, api_url=slack.api_url, signing_secret=SECRET)
        server = waitress.create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=server_threads)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.effective_port}/slack/events"
        try:
            yield Bot(kube, slack, store, url, clock, services)
        finally:
            _stop(server, thread)
            services.pool.shutdown()
            store.close()


def _stop(server, thread: threading.Thread) -> None:
    """Close waitress from inside its own loop: closing its sockets from this thread races the loop's select()
    (EBADF in the server thread)."""

    def close_all() -> None:
        for channel in list(server._map.values()):
            channel.close()

    server.trigger.pull_trigger(close_all)
    thread.join(timeout=5)
    if thread.is_alive():  # the loop did not wake up: fall back to closing from here
        server.close()
    server.task_dispatcher.shutdown()
