"""The fake Slack Web API, exercised only through the real slack_sdk / slack_bolt clients over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from fakeslack import FakeSlack, Message
from fakeslack.signing import (
    block_actions_body,
    post_signed,
    sign,
    slash_command_body,
    view_submission_body,
)
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient

OPS, AUDIT, QUIET = "C0FAKEOPS1", "C0FAKEAUD1", "C0FAKEQUI1"
ALICE, BOB = "U0FAKEALI1", "U0FAKEBOB1"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def approve_block(value: str = "approval-1", **button: Any) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": value,
                **button,
            }
        ],
    }


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(OPS, "seldon-ops")
        fake.add_channel(AUDIT, "seldon-audit", is_private=True)
        fake.add_channel(QUIET, "quiet", is_member=False)
        fake.add_user(ALICE, "alice", real_name="Alice Approver")
        fake.add_user(BOB, "bob")
        fake.add_usergroup("S0FAKEAPR1", "seldon-approvers", [ALICE])
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.api_url)


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def last(slack: FakeSlack, channel: str) -> Message:
    message = slack.last_message(channel)
    assert message is not None, f"no message in {channel}"
    return message


def stored(slack: FakeSlack, channel: str, ts: str) -> Message:
    message = slack.message(channel, ts)
    assert message is not None, f"no message {ts} in {channel}"
    return message


def error_code(call: Any) -> str:
    return str(api_error(call).response["error"])


# -- Web API -------------------------------------------------------------------------------------------------


def test_base_url_and_auth_test(slack: FakeSlack, client: WebClient) -> None:
    assert slack.url.startswith("http://127.0.0.1:") and slack.api_url == slack.url + "/api/"
    answer = client.auth_test()
    assert answer["user_id"] == slack.identity.bot_user_id and answer["team_id"] == slack.identity.team_id
    assert "chat:write" in answer.headers["X-OAuth-Scopes"]


def test_post_thread_and_queries(slack: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=OPS, text="Diagnosing risk-ml", blocks=[section("⏳ checks")])
    assert parent["ts"] == "1700000000.000100" and parent["channel"] == OPS
    assert parent["message"]["bot_id"] == slack.identity.bot_id
    reply = client.chat_postMessage(channel=OPS, thread_ts=parent["ts"], text="audit: approved")
    reply_to_reply = client.chat_postMessage(channel=OPS, thread_ts=reply["ts"], text="same thread")
    assert reply["ts"] == "1700000000.000200"
    assert reply_to_reply["message"]["thread_ts"] == parent["ts"]
    by_name = client.chat_postMessage(channel="#seldon-ops", text="by name")
    assert by_name["channel"] == OPS

    assert [m.ts for m in slack.messages(OPS)] == [parent["ts"], reply["ts"], reply_to_reply["ts"], by_name["ts"]]
    assert [m.text for m in slack.thread(OPS, reply["ts"])] == ["Diagnosing risk-ml", "audit: approved", "same thread"]
    assert stored(slack, OPS, parent["ts"]).thread_ts == parent["ts"]  # a parent carries thread_ts once replied to
    assert last(slack, OPS).text == "by name"
    assert slack.last_message(AUDIT) is None
    history = client.conversations_history(channel=OPS)["messages"]
    assert [m["text"] for m in history] == ["by name", "Diagnosing risk-ml"]  # newest first, no replies

    call = slack.calls("chat.postMessage")[0]
    assert call.json == {"channel": OPS, "text": "Diagnosing risk-ml", "blocks": [section("⏳ checks")]}
    assert call.headers["authorization"] == f"Bearer {slack.token}" and call.status == 200
    assert isinstance(call.response, dict) and call.response["ok"] is True


def test_post_errors(slack: FakeSlack, client: WebClient) -> None:
    assert error_code(lambda: client.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    assert error_code(lambda: client.chat_postMessage(channel=QUIET, text="x")) == "not_in_channel"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns before it sends
        assert error_code(lambda: client.chat_postMessage(channel=OPS)) == "no_text"
    bad_thread = api_error(lambda: client.chat_postMessage(channel=OPS, text="x", thread_ts="1.000001"))
    assert bad_thread.response["error"] == "invalid_thread_ts"
    long = client.chat_postMessage(channel=OPS, text="x" * 40_001)
    assert long["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(last(slack, OPS).text) == 40_000


def test_update_keeps_history_and_unknown_ts_fails(slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=OPS, text="v1", blocks=[section("⏳ pods")])
    client.chat_update(channel=OPS, ts=posted["ts"], text="v2", blocks=[section("✅ pods"), approve_block()])
    answer = client.chat_update(channel=OPS, ts=posted["ts"], text="v3")  # text without blocks removes them
    assert answer["ts"] == posted["ts"] and answer["text"] == "v3"

    message = stored(slack, OPS, posted["ts"])
    assert [v.text for v in message.versions] == ["v1", "v2", "v3"]
    assert message.versions[1].blocks[1]["elements"][0]["value"] == "approval-1"
    assert message.blocks == []

    error = api_error(lambda: client.chat_update(channel=OPS, ts="1700000099.000100", text="x"))
    assert error.response.status_code == 200 and error.response.data == {"ok": False, "error": "message_not_found"}
    human = slack.add_message(OPS, "hello", user=ALICE)
    assert error_code(lambda: client.chat_update(channel=OPS, ts=human.ts, text="x")) == ("cant_update_message")


def test_rate_limit_429_then_retry_handler_succeeds(
    slack: FakeSlack, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    error = api_error(lambda: client.chat_postMessage(channel=OPS, text="x"))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"

    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slept.append))  # no real 1-2 s wait
    retrying = slack.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    answer = retrying.chat_postMessage(channel=OPS, text="eventually")
    assert answer["ok"] and last(slack, OPS).text == "eventually"
    assert len(slept) == 2 and all(1 <= s < 2 for s in slept)  # int(Retry-After) + random()
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 429, 429, 200]


def test_fail_and_latency_injection(slack: FakeSlack, client: WebClient) -> None:
    slack.fail("chat.update", "edit_window_closed", times=1)
    posted = client.chat_postMessage(channel=OPS, text="x")
    assert api_error(lambda: client.chat_update(channel=OPS, ts=posted["ts"], text="y")).response.data == {
        "ok": False,
        "error": "edit_window_closed",
    }
    assert client.chat_update(channel=OPS, ts=posted["ts"], text="y")["ok"]

    slack.latency(0.2, "users.info", times=1)
    started = time.monotonic()
    assert client.users_info(user=ALICE)["user"]["real_name"] == "Alice Approver"
    assert time.monotonic() - started >= 0.2
    slack.fail(None, "fatal_error", times=None)
    assert error_code(client.auth_test) == "fatal_error"
    slack.clear_faults()
    assert client.auth_test()["ok"]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section(f"check {i}") for i in range(51)], "no more than 50 items allowed [json-pointer:/blocks]"),
        ([section("x" * 3001)], "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        ([approve_block("v" * 2001)], "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"),
        (
            [approve_block(action_id="a" * 256)],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        ([section("x", block_id="b" * 256)], "must be less than 256 characters [json-pointer:/blocks/0/block_id]"),
        ([section("a", "same"), section("b", "same")], "duplicate block_id: same [json-pointer:/blocks/1/block_id]"),
    ],
)
def test_block_kit_limits_reject_like_slack(
    slack: FakeSlack, client: WebClient, blocks: list[dict[str, Any]], pointer: str
) -> None:
    for send in (
        lambda: client.chat_postMessage(channel=OPS, text="fallback", blocks=blocks),
        lambda: client.chat_postEphemeral(channel=OPS, user=ALICE, text="fallback", blocks=blocks),
    ):
        error = api_error(send)
        assert error.response.status_code == 200 and error.response["error"] == "invalid_blocks"
        assert pointer in error.response["errors"]
        assert f"[ERROR] {pointer}" in error.response["response_metadata"]["messages"]
    posted = client.chat_postMessage(channel=OPS, text="ok", blocks=[section("x" * 3000)])
    update = api_error(lambda: client.chat_update(channel=OPS, ts=posted["ts"], text="fallback", blocks=blocks))
    assert update.response["error"] == "invalid_blocks"
    assert stored(slack, OPS, posted["ts"]).versions[-1].blocks == [section("x" * 3000)]


def test_files_upload_v2_end_to_end(slack: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=OPS, text="diagnosis")
    answer = client.files_upload_v2(
        channel=OPS,
        thread_ts=parent["ts"],
        content=b"pod logs\n" * 100,
        filename="logs.txt",
        title="risk-ml logs",
        initial_comment="full logs",
    )
    assert answer["file"]["title"] == "risk-ml logs" and answer["file"]["size"] == 900
    assert [c.method for c in slack.calls()][-3:] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (uploaded,) = slack.files()
    assert uploaded.content == b"pod logs\n" * 100 and uploaded.completed and uploaded.channels == (OPS,)
    share = last(slack, OPS)
    assert share.thread_ts == parent["ts"] and share.text == "full logs" and share.files[0]["id"] == uploaded.id
    assert slack.calls("upload")[0].token is None  # the upload URL needs no token
    unfinished = client.files_getUploadURLExternal(filename="x.txt", length=3)
    error = api_error(lambda: client.files_completeUploadExternal(files=[{"id": unfinished["file_id"]}]))
    assert error.response["error"] == "file_not_found"


def test_response_url_posts_are_recorded_with_slack_semantics(slack: FakeSlack, client: WebClient) -> None:
    source = client.chat_postMessage(channel=OPS, text="approve?", blocks=[section("Patch?"), approve_block()])
    url = slack.response_url(channel=OPS, user=ALICE, message_ts=source["ts"])
    hook = WebhookClient(url)

    assert hook.send(text="only you can see this").status_code == 200
    assert hook.send(text="Approved", blocks=[section("Approved by <@U0FAKEALI1>")], replace_original=True).body == "ok"
    assert hook.send(text="for everyone", response_type="in_channel").status_code == 200
    assert hook.send(text="bad", blocks=[section("x" * 3001)]).status_code == 400
    assert hook.send(delete_original=True).status_code == 200
    used_up = hook.send(text="sixth")
    assert (used_up.status_code, used_up.body) == (404, "used_url")

    posts = slack.responses(url)
    assert [p.outcome for p in posts] == [
        "ephemeral",
        "replaced",
        "in_channel",
        "invalid_blocks",
        "deleted",
        "used_url",
    ]
    assert posts[1].payload["replace_original"] is True
    (ephemeral,) = slack.ephemerals(OPS, ALICE)
    assert ephemeral.text == "only you can see this" and ephemeral.source == "response_url"
    assert slack.message(OPS, source["ts"]) is None  # deleted
    replaced = slack.messages(OPS, include_deleted=True)[0]
    assert replaced.deleted and [v.text for v in replaced.versions] == ["approve?", "Approved"]
    assert last(slack, OPS).text == "for everyone"
    assert WebhookClient(slack.url + "/response/nope").send(text="x").status_code == 404


def test_auth_errors(slack: FakeSlack) -> None:
    bad = WebClient(token="xoxb-not-a-real-token", base_url=slack.api_url)
    assert api_error(bad.auth_test).response.data == {"ok": False, "error": "invalid_auth"}
    none = WebClient(base_url=slack.api_url)
    assert error_code(lambda: none.chat_postMessage(channel=OPS, text="x")) == "not_authed"
    assert slack.messages(OPS) == []
    slack.add_token("xoxb-second-install")
    assert WebClient(token="xoxb-second-install", base_url=slack.api_url).auth_test()["ok"]


def test_directory_ephemeral_permalink_and_views(slack: FakeSlack, client: WebClient) -> None:
    assert client.conversations_info(channel=AUDIT)["channel"]["is_private"] is True
    assert error_code(lambda: client.conversations_info(channel="C0NOPE")) == "channel_not_found"
    listing = client.conversations_list(types="public_channel,private_channel", limit=2)
    assert [len(page["channels"]) for page in listing] == [2, 1]  # slack_sdk follows response_metadata.next_cursor
    assert client.usergroups_users_list(usergroup="S0FAKEAPR1")["users"] == [ALICE]
    assert error_code(lambda: client.users_info(user="U0NOPE")) == "user_not_found"

    assert client.chat_postEphemeral(channel=OPS, user=BOB, text="not allowed")["message_ts"]
    assert slack.ephemerals(user=BOB)[0].text == "not allowed"
    posted = client.chat_postMessage(channel=OPS, text="x")
    reply = client.chat_postMessage(channel=OPS, text="y", thread_ts=posted["ts"])
    assert client.chat_getPermalink(channel=OPS, message_ts=posted["ts"])["permalink"] == (
        f"https://fake-workspace.slack.com/archives/{OPS}/p1700000000000200"
    )
    assert client.chat_getPermalink(channel=OPS, message_ts=reply["ts"])["permalink"].endswith(
        f"?thread_ts={posted['ts']}&cid={OPS}"
    )

    modal = {"type": "modal", "callback_id": "reject", "title": {"type": "plain_text", "text": "Reject"}, "blocks": []}
    view = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    assert view["id"].startswith("V") and slack.views()[0]["callback_id"] == "reject"
    too_long = {**modal, "title": {"type": "plain_text", "text": "t" * 25}}
    error = api_error(lambda: client.views_open(trigger_id="1.2.abc", view=too_long))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]


# -- signing and Bolt ----------------------------------------------------------------------------------------


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_signature_matches_slack_sdk_verifier() -> None:
    body = slash_command_body(text="diagnose risk-ml", user_id=ALICE, channel_id=OPS)
    now = int(time.time())
    headers = sign(body, SECRET, now)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert headers["X-Slack-Signature"] == SignatureVerifier(SECRET).generate_signature(timestamp=str(now), body=body)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body + b"&x=1", headers)
    stale = sign(body, SECRET, now - 360)  # 6 minutes old
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)
    assert SignatureVerifier(SECRET, clock=_FixedClock(now - 360)).is_valid_request(body, stale)


class _QuietWsgi(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bolt(slack: FakeSlack) -> Iterator[tuple[App, str]]:
    """A Bolt App on the fake's WebClient, served over real HTTP (WSGI) on 127.0.0.1."""
    app = App(client=slack.client(), signing_secret=SECRET)  # calls auth.test on the fake
    server: WSGIServer = make_server("127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietWsgi)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()


def test_bolt_slash_command_and_button_click_through_signed_http(slack: FakeSlack, bolt: tuple[App, str]) -> None:
    app, url = bolt
    seen: dict[str, Any] = {}

    @app.command("/seldon")
    def on_command(ack: Any, command: dict[str, Any], respond: Any, client: WebClient) -> None:
        ack()
        seen["command"] = command
        respond(f"Diagnosing {command['text'].split()[-1]}…")
        client.chat_postMessage(channel=command["channel_id"], text="diagnosis", blocks=[approve_block("ap-42")])

    @app.action("approve")
    def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        seen["body"], seen["action"] = body, action
        container = body["container"]
        client.chat_update(channel=container["channel_id"], ts=container["message_ts"], text="approved", blocks=[])

    @app.view("reject")
    def on_submit(ack: Any, view: dict[str, Any]) -> None:
        seen["reason"] = view["state"]["values"]["reason"]["text"]["value"]
        ack()

    command_url = slack.response_url(channel=OPS, user=ALICE)
    body = slash_command_body(text="diagnose risk-ml", user_id=ALICE, channel_id=OPS, response_url=command_url)
    status, _, _ = post_signed(url, body, SECRET)
    assert status == 200
    slack.wait_for(lambda: slack.responses(command_url) and slack.calls("chat.postMessage"))
    assert seen["command"]["command"] == "/seldon" and seen["command"]["team_id"] == slack.identity.team_id
    assert slack.responses(command_url)[0].payload["text"] == "Diagnosing risk-ml…"

    message = last(slack, OPS)
    click = block_actions_body("approve", message=message, user_id=ALICE, response_url=slack.response_url())
    assert post_signed(url, click, SECRET)[0] == 200
    slack.wait_for(lambda: slack.calls("chat.update"))
    assert seen["action"]["value"] == "ap-42" and seen["action"]["block_id"] == "decision"
    assert seen["body"]["user"]["id"] == ALICE and seen["body"]["message"]["ts"] == message.ts
    assert stored(slack, OPS, message.ts).text == "approved"

    values = {"reason": {"text": {"type": "plain_text_input", "value": "too risky"}}}
    assert post_signed(url, view_submission_body("reject", values), SECRET)[0] == 200
    assert seen["reason"] == "too risky"


def test_bolt_rejects_wrong_secret_and_stale_timestamp(slack: FakeSlack, bolt: tuple[App, str]) -> None:
    app, url = bolt
    app.command("/seldon")(lambda ack: ack())
    body = slash_command_body(text="diagnose risk-ml")
    wrong = post_signed(url, body, "not-the-secret")
    assert wrong[0] == 401 and json.loads(wrong[2]) == {"error": "invalid request"}
    assert post_signed(url, body, SECRET, timestamp=int(time.time()) - 360)[0] == 401
    assert post_signed(url, body, SECRET)[0] == 200
