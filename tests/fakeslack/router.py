"""Routes a request: /api/<method>, /upload/v1/<file id>, /response/<id>; applies faults, checks the token, records.

Order per call: faults (latency, then an injected failure), token check (API methods only), the method. Every call
is recorded, after its answer is decided and before it is sent, so a client that has its answer sees the record.
"""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from urllib.parse import parse_qsl

from . import chat, directory, files_views, webhooks  # noqa: F401  (chat, directory, files_views register methods)
from .api import METHODS, Ctx, SlackError, decode_json_fields
from .faults import Faults
from .server import HttpRequest, HttpResponse
from .state import Call, Json, State

TEXT = "text/plain; charset=utf-8"


def _params(request: HttpRequest) -> tuple[Json, Json | None]:
    """Query string plus body (JSON object or form), with JSON-string fields decoded."""
    params: Json = dict(parse_qsl(request.query, keep_blank_values=True))
    body_json = None
    ctype = request.content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        loaded = json.loads(request.body or b"{}")
        if not isinstance(loaded, dict):
            raise ValueError("a JSON body must be an object")
        body_json = loaded
        params.update(loaded)
    elif request.body and not ctype.startswith("multipart/"):
        params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    return decode_json_fields(params), body_json


def _token(request: HttpRequest, params: Json, is_json: bool) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ").strip()
    token = params.get("token")
    return str(token) if token and not is_json else None


def _json(status: int, body: Json, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode(), headers=headers or {})


class Router:
    def __init__(self, state: State, faults: Faults, scopes: str) -> None:
        self.state = state
        self.faults = faults
        self.scopes = scopes
        self.base_url = ""  # set once the server is bound

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kind, _, rest = request.path.lstrip("/").partition("/")
        name = {"api": rest, "upload": "upload", "response": "response_url"}.get(kind, request.path)
        try:
            params, body_json = _params(request)
            parse_error = None
        except (ValueError, UnicodeDecodeError):
            params, body_json, parse_error = {}, None, "invalid_json"
        token = _token(request, params, body_json is not None)
        outcome = self.faults.take(name)
        if outcome.delay:
            time.sleep(outcome.delay)
        with self.state.lock:
            if outcome.failure is not None:
                fault = outcome.failure
                if kind == "api" or fault.status == 429:
                    response = _json(fault.status or 200, fault.body, fault.headers)
                else:
                    response = HttpResponse(fault.status or 200, str(fault.body["error"]).encode(), TEXT, fault.headers)
            elif kind == "api":
                response = self._api(rest, params, token, parse_error)
            elif kind == "upload":
                status, text = webhooks.upload(self.state, rest.removeprefix("v1/"), request.content_type, request.body)
                response = HttpResponse(status, text.encode(), TEXT)
            elif kind == "response":
                status, text = webhooks.respond(self.state, self.base_url + request.path, rest, request.body)
                response = HttpResponse(status, text.encode(), TEXT)
            else:
                response = HttpResponse(404, b"not_found", TEXT)
            self.state.calls.append(self._record(name, request, params, body_json, token, response))
        return response

    def _api(self, name: str, params: Json, token: str | None, parse_error: str | None) -> HttpResponse:
        handler = METHODS.get(name)
        try:
            if handler is None:
                raise SlackError("unknown_method")
            if not token:
                raise SlackError("not_authed")
            if token not in self.state.tokens:
                raise SlackError("invalid_auth")
            if parse_error:
                raise SlackError(parse_error)
            answer = {"ok": True, **handler(Ctx(self.state, params, self.base_url, self.state.identity.bot_user_id))}
        except SlackError as error:
            answer = error.to_api()
        except Exception:  # a bug in the fake: make it loud in the client's SlackApiError
            return _json(500, {"ok": False, "error": "fatal_error", "fake_exception": traceback.format_exc(-3)})
        scopes = {"X-OAuth-Scopes": self.scopes} if token in self.state.tokens else {}
        return _json(200, answer, scopes)

    @staticmethod
    def _record(
        name: str, request: HttpRequest, params: Json, body_json: Json | None, token: str | None, response: HttpResponse
    ) -> Call:
        answer: Json | str = response.body.decode("utf-8", "replace")
        if response.content_type.startswith("application/json"):
            with contextlib.suppress(ValueError):
                answer = json.loads(response.body)
        return Call(
            method=name,
            http_method=request.method,
            path=request.path,
            headers=request.headers,
            body=request.body,
            content_type=request.content_type,
            params=params,
            json=body_json,
            token=token,
            status=response.status,
            response=answer,
        )
