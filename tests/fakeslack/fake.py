"""FakeSlack: the test-facing handle on the fake workspace and its HTTP server."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .faults import Fault, Faults
from .router import Router
from .server import HttpServer
from .state import (
    Call,
    Channel,
    Ephemeral,
    Identity,
    Message,
    ResponsePost,
    ResponseTarget,
    State,
    StoredFile,
    User,
    Usergroup,
)
from .webhooks import RESPONSE_URL_MAX_USES

if TYPE_CHECKING:
    from slack_sdk import WebClient

T = TypeVar("T")
DEFAULT_TOKEN = "xoxb-0000000001-fake-bot-token"
DEFAULT_SCOPES = "chat:write,commands,users:read,usergroups:read,channels:read,groups:read,files:write"


class FakeSlack:
    """A fake Slack Web API on 127.0.0.1 with a random port. Use as a context manager or start()/stop().

    Valid tokens: `token` plus any given to add_token(); others get invalid_auth, none gets not_authed.
    Query helpers return snapshots (deep copies) of the stored records.
    """

    def __init__(
        self, *, token: str = DEFAULT_TOKEN, identity: Identity | None = None, scopes: str = DEFAULT_SCOPES
    ) -> None:
        self.token = token
        self.identity = identity or Identity()
        self._state = State(self.identity, {token})
        self._faults = Faults()
        self._router = Router(self._state, self._faults, scopes)
        self._server: HttpServer | None = None
        ident = self.identity
        self._state.users[ident.bot_user_id] = User(
            ident.bot_user_id, ident.bot_user_name, ident.bot_user_name, ident.team_id, is_bot=True
        )

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is None:
            self._server = HttpServer(self._router)
            self._router.base_url = self._server.url
            self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT, no trailing slash."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.url

    @property
    def api_url(self) -> str:
        """What WebClient(base_url=...) needs: slack_sdk urljoin()s the method name, so it ends in "/api/"."""
        return self.url + "/api/"

    def client(self, token: str | None = None, **kwargs: Any) -> WebClient:
        """A real slack_sdk WebClient pointed at the fake (kwargs go to WebClient, e.g. retry_handlers)."""
        from slack_sdk import WebClient

        return WebClient(token=token or self.token, base_url=self.api_url, **kwargs)

    # -- workspace setup -------------------------------------------------------------------------------------

    def add_token(self, token: str) -> None:
        with self._state.lock:
            self._state.tokens.add(token)

    def add_channel(
        self,
        id: str,
        name: str,
        *,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        members: Iterable[str] | None = None,
    ) -> Channel:
        """`is_member`: whether the bot is in it. `members`: who may see ephemerals (None: everyone)."""
        channel = Channel(
            id, name, is_private, is_member, is_archived, members=frozenset(members) if members is not None else None
        )
        with self._state.lock:
            self._state.channels[id] = channel
        return channel

    def add_user(
        self,
        id: str,
        name: str,
        *,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        tz: str = "Etc/UTC",
    ) -> User:
        user = User(id, name, real_name or name, self.identity.team_id, is_bot, deleted, email, tz)
        with self._state.lock:
            self._state.users[id] = user
        return user

    def add_usergroup(self, id: str, handle: str, users: Iterable[str], *, name: str | None = None) -> Usergroup:
        group = Usergroup(id, handle, tuple(users), name or handle, self.identity.team_id)
        with self._state.lock:
            self._state.usergroups[id] = group
        return group

    def add_message(
        self, channel: str, text: str, *, user: str, thread_ts: str | None = None, **fields: Any
    ) -> Message:
        """Seed a message someone else posted (the app cannot chat.update it: cant_update_message)."""
        with self._state.lock:
            message = Message(
                channel, self._state.next_ts(), text, user, self.identity.team_id, thread_ts=thread_ts, **fields
            )
            self._state.store_message(message)
        return message

    def response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
        max_uses: int = RESPONSE_URL_MAX_USES,
    ) -> str:
        """A fresh response_url on the fake. Bind it to the conversation, the user and the source message (as the
        payload carrying it would be) for replace_original / delete_original / in_channel / ephemeral to act."""
        with self._state.lock:
            target_id = self._state.next_id("R")
            self._state.responses[target_id] = ResponseTarget(
                target_id, channel, user, message_ts, is_ephemeral, max_uses
            )
        return f"{self.url}/response/{target_id}"

    # -- faults ----------------------------------------------------------------------------------------------

    def rate_limit(self, method: str | None, times: int | None = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429, Retry-After and {"ok": false, "error": "ratelimited"}."""
        body = {"ok": False, "error": "ratelimited"}
        self._faults.add(Fault(method, times, status=429, body=body, headers={"Retry-After": str(retry_after)}))

    def fail(self, method: str | None, error: str, times: int | None = 1, *, status: int = 200, **extra: Any) -> None:
        """The next `times` calls of `method` get {"ok": false, "error": error, **extra} (HTTP `status`).
        For "upload" and "response_url" the body is the plain error text."""
        self._faults.add(Fault(method, times, status=status, body={"ok": False, "error": error, **extra}))

    def latency(self, seconds: float, method: str | None = None, times: int | None = None) -> None:
        """Delay calls of `method` (every call when None) by `seconds`, then answer them normally."""
        self._faults.add(Fault(method, times, latency=seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- queries ---------------------------------------------------------------------------------------------

    def _snapshot(self, read: Callable[[State], T]) -> T:
        with self._state.lock:
            return copy.deepcopy(read(self._state))

    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded call in arrival order, or those of one method ("chat.postMessage", "response_url")."""
        return self._snapshot(lambda s: [c for c in s.calls if method is None or c.method == method])

    def messages(self, channel: str, *, include_deleted: bool = False) -> list[Message]:
        """The channel's messages in posting order, thread replies included."""
        return self._snapshot(lambda s: [m for m in s.messages.get(channel, []) if include_deleted or not m.deleted])

    def message(self, channel: str, ts: str) -> Message | None:
        return self._snapshot(lambda s: s.find_message(channel, ts))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The parent and its replies, oldest first (ts may be the parent's or any reply's)."""

        def read(s: State) -> list[Message]:
            first = s.find_message(channel, ts)
            if first is None:
                return []
            root = first.thread_ts or first.ts
            return [m for m in s.messages.get(channel, []) if not m.deleted and (m.ts == root or m.thread_ts == root)]

        return self._snapshot(read)

    def last_message(self, channel: str) -> Message | None:
        found = self.messages(channel)
        return found[-1] if found else None

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        def read(s: State) -> list[Ephemeral]:
            return [e for e in s.ephemerals if channel in (None, e.channel) and user in (None, e.user)]

        return self._snapshot(read)

    def responses(self, url: str | None = None) -> list[ResponsePost]:
        """POSTs to response_urls (to one of them when `url` is given), in arrival order."""
        return self._snapshot(lambda s: [p for p in s.response_posts if url is None or p.url == url])

    def views(self) -> list[dict[str, Any]]:
        """Views opened, pushed or updated, as the API returned them (the latest version of each)."""
        return self._snapshot(lambda s: list(s.views.values()))

    def files(self) -> list[StoredFile]:
        return self._snapshot(lambda s: list(s.files.values()))

    def wait_for(self, predicate: Callable[[], T], timeout: float = 2.0, interval: float = 0.01) -> T:
        """Poll until predicate() is truthy (for bots that post from a worker thread); returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                if not value:
                    raise TimeoutError(f"condition not met within {timeout}s")
                return value
            time.sleep(interval)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 2.0) -> list[Call]:
        def ready() -> list[Call]:
            found = self.calls(method)
            return found if len(found) >= count else []

        return self.wait_for(ready, timeout)
