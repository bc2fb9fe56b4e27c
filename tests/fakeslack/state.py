"""The workspace the fake serves: directory, messages with their edit history, uploads, views and recorded calls.

Every record is a frozen dataclass; a change stores a new record (dataclasses.replace), so a record handed to a
test is a snapshot. Handlers mutate State only while holding `State.lock`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

FIRST_TS_US = 1_700_000_000_000_100  # "1700000000.000100"
TS_STEP_US = 100
CREATED = 1_700_000_000


def format_ts(microseconds: int) -> str:
    """Slack's message id: seconds, a dot and six digits, as a string."""
    return f"{microseconds // 1_000_000}.{microseconds % 1_000_000:06d}"


@dataclass(frozen=True)
class Identity:
    """Who the app is in the fake workspace (what auth.test answers)."""

    team_id: str = "T0FAKE0001"
    team_domain: str = "fake-workspace"
    team_name: str = "Fake Workspace"
    bot_user_id: str = "U0FAKEBOT1"
    bot_user_name: str = "seldon-chatops"
    bot_id: str = "B0FAKEBOT1"
    app_id: str = "A0FAKEAPP1"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True  # whether the bot is in it
    is_archived: bool = False
    is_im: bool = False
    members: frozenset[str] | None = None  # None: every user is a member

    def has_member(self, user_id: str) -> bool:
        return self.members is None or user_id in self.members

    def to_api(self) -> Json:
        data: Json = {
            "id": self.id,
            "created": CREATED,
            "is_archived": self.is_archived,
            "is_im": self.is_im,
            "is_org_shared": False,
            "context_team_id": None,
        }
        if self.is_im:
            return {**data, "user": self.name, "is_user_deleted": False}
        return {
            **data,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_member": self.is_member,
            "creator": "U0CREATOR1",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": len(self.members) if self.members is not None else 0,
        }


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    team_id: str
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None
    tz: str = "Etc/UTC"

    def to_api(self) -> Json:
        profile: Json = {"real_name": self.real_name, "display_name": self.name, "team": self.team_id}
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "tz": self.tz,
            "updated": CREATED,
            "profile": profile,
        }


@dataclass(frozen=True)
class Usergroup:
    id: str
    handle: str
    users: tuple[str, ...]
    name: str
    team_id: str


@dataclass(frozen=True)
class MessageVersion:
    """One earlier state of a message, kept when chat.update (or replace_original) changed it."""

    text: str
    blocks: list[Json]
    attachments: list[Json]
    metadata: Json | None


@dataclass(frozen=True)
class Message:
    """A channel message as stored; `thread_ts` is the thread root's ts (equal to `ts` only on a parent)."""

    channel: str
    ts: str
    text: str
    user: str
    team: str
    blocks: list[Json] = field(default_factory=list)
    attachments: list[Json] = field(default_factory=list)
    metadata: Json | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    bot_id: str | None = None
    app_id: str | None = None
    files: tuple[Json, ...] = ()
    deleted: bool = False
    edits: tuple[MessageVersion, ...] = ()  # earlier versions, oldest first

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def versions(self) -> list[MessageVersion]:
        """Every version of the message, oldest first, the current one last."""
        return [*self.edits, MessageVersion(self.text, self.blocks, self.attachments, self.metadata)]

    def to_api(self) -> Json:
        data: Json = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text, "team": self.team}
        if self.bot_id:
            data.update(bot_id=self.bot_id, app_id=self.app_id)
        if self.blocks:
            data["blocks"] = self.blocks
        if self.attachments:
            data["attachments"] = self.attachments
        if self.metadata:
            data["metadata"] = self.metadata
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.files:
            data.update(files=list(self.files), upload=False)
        return data


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` sees: from chat.postEphemeral or an ephemeral response_url post."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[Json]
    thread_ts: str | None
    source: str  # "chat.postEphemeral" or "response_url"
    deleted: bool = False
    edits: tuple[MessageVersion, ...] = ()


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    length: int  # as declared to files.getUploadURLExternal
    user: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    title: str | None = None
    content: bytes | None = None  # None until the upload URL got the bytes
    completed: bool = False
    channels: tuple[str, ...] = ()
    initial_comment: str | None = None
    thread_ts: str | None = None

    def to_api(self, team_domain: str) -> Json:
        size = len(self.content) if self.content is not None else self.length
        return {
            "id": self.id,
            "created": CREATED,
            "timestamp": CREATED,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": "text/plain" if self.snippet_type else "application/octet-stream",
            "filetype": self.snippet_type or "binary",
            "user": self.user,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "url_private": f"https://files.slack.com/files-pri/{self.id}/{self.filename}",
            "permalink": f"https://{team_domain}.slack.com/files/{self.user}/{self.id}/{self.filename}",
            "channels": list(self.channels),
            "shares": {},
        }


@dataclass(frozen=True)
class ResponseTarget:
    """What a response_url belongs to: the conversation, the user, and the source message if any."""

    id: str
    channel: str | None
    user: str | None
    message_ts: str | None
    is_ephemeral: bool
    max_uses: int
    uses: int = 0


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url, with what the fake did with it."""

    url: str
    payload: Json
    status: int
    outcome: str  # "ephemeral", "in_channel", "replaced", "deleted", "recorded", or the error text
    ts: str | None = None


@dataclass(frozen=True)
class Call:
    """One HTTP request to the fake, as received, with the answer it got."""

    method: str  # API method ("chat.postMessage"), or "upload" / "response_url"
    http_method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    content_type: str
    params: Json  # query + body, JSON-string fields (blocks, attachments, ...) decoded
    json: Json | None  # the body when it was application/json
    token: str | None
    status: int
    response: Json | str


class State:
    def __init__(self, identity: Identity, tokens: set[str]) -> None:
        self.lock = threading.RLock()
        self.identity = identity
        self.tokens = tokens
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.messages: dict[str, list[Message]] = {}  # per channel, in posting order
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, Json] = {}
        self.files: dict[str, StoredFile] = {}
        self.responses: dict[str, ResponseTarget] = {}
        self.response_posts: list[ResponsePost] = []
        self.calls: list[Call] = []
        self._clock_us = FIRST_TS_US - TS_STEP_US
        self._ids: dict[str, int] = {}

    def next_ts(self) -> str:
        with self.lock:
            self._clock_us += TS_STEP_US
            return format_ts(self._clock_us)

    def next_id(self, prefix: str) -> str:
        """A Slack-looking id: prefix plus 10 upper-case characters, unique per prefix."""
        with self.lock:
            n = self._ids.get(prefix, 0) + 1
            self._ids[prefix] = n
            return f"{prefix}0FAKE{n:05d}"

    def find_message(self, channel: str, ts: str) -> Message | None:
        for message in self.messages.get(channel, []):
            if message.ts == ts and not message.deleted:
                return message
        return None

    def store_message(self, message: Message) -> None:
        """Add a new message, or put a changed version of a stored one (same channel and ts) in its place."""
        stored = self.messages.setdefault(message.channel, [])
        for i, old in enumerate(stored):
            if old.ts == message.ts:
                stored[i] = message
                return
        stored.append(message)

    def resolve_channel(self, ref: str) -> Channel | None:
        """A channel by id, by "#name" or name, or a user id (the bot's DM with that user, made on first use)."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        if ref in self.users:
            dm = Channel(id="D" + ref[1:], name=ref, is_private=True, is_im=True, members=frozenset({ref}))
            self.channels.setdefault(dm.id, dm)
            return self.channels[dm.id]
        return None
