"""A fake Slack Web API (real HTTP on 127.0.0.1) plus builders for the signed requests Slack sends to the app.

    with FakeSlack() as slack:
        slack.add_channel("C0FAKECHN1", "seldon-ops")
        client = WebClient(token=slack.token, base_url=slack.api_url)  # or slack.client()
        app = App(client=client, signing_secret="secret")

See fake.FakeSlack for the test-facing API and signing for the request builders.
"""

from .blocks_limits import validate_blocks, validate_view
from .fake import DEFAULT_TOKEN, FakeSlack
from .state import Call, Channel, Ephemeral, Identity, Message, MessageVersion, ResponsePost, StoredFile, User

__all__ = [
    "DEFAULT_TOKEN",
    "Call",
    "Channel",
    "Ephemeral",
    "FakeSlack",
    "Identity",
    "Message",
    "MessageVersion",
    "ResponsePost",
    "StoredFile",
    "User",
    "validate_blocks",
    "validate_view",
]
