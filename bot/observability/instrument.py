"""Metrics and correlation ids wrapped around the clients the bot already has, not woven into them.

The Kubernetes `ApiClient`, the Slack `WebClient`s, the check catalogue and the thread pools are
wrapped at start-up by `serve`, so the collector, the executor and the listeners stay free of
metrics code and the tests that build them directly are unaffected:

- Kubernetes: every HTTP request through one `ApiClient` (the collector's LISTs and log reads, the
  executor's GETs, PATCHes and access reviews) by verb, resource and status code.
- Slack: every Web API call through a `WebClient` by method and outcome.
- Checks: each check's duration and status.
- Pools: work submitted to a thread pool keeps the submitter's correlation id.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from kubernetes.client.exceptions import ApiException
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.diagnosis.checks import CATALOGUE
from bot.diagnosis.checks.base import Check, Outcome
from bot.diagnosis.view import TenantView
from bot.observability import metrics
from bot.slack.services import WorkerPool

_WRAPPED = "__seldon_chatops_instrumented__"


# -- Kubernetes ---------------------------------------------------------------------------------


def kube_request_labels(method: str, url: str) -> tuple[str, str]:
    """(verb, resource) of a request URL the way RBAC names them: `list pods`, `get pods/log`,
    `patch servers.mlops.seldon.io`, `create selfsubjectaccessreviews.authorization.k8s.io`."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:  # /version, /healthz, discovery documents
        return method.lower(), "/".join(parts[:1]) or "root"
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]  # /namespaces/<ns>/<plural>/...
    plural = rest[0] if rest else "discovery"
    named = len(rest) >= 2
    subresource = rest[2] if len(rest) >= 3 else ""
    resource = f"{plural}/{subresource}" if subresource else plural
    if group:
        resource = f"{resource}.{group}" if not subresource else f"{plural}.{group}/{subresource}"
    verb = {"GET": "get" if named else "list", "POST": "create", "PUT": "update", "PATCH": "patch"}.get(
        method.upper(), method.lower()
    )
    return verb, resource


def instrument_kube(api: Any) -> Any:
    """Time and count every request of this `kubernetes.client.ApiClient`; returns it."""
    rest = api.rest_client
    if getattr(rest, _WRAPPED, False):
        return api
    original = rest.request

    @functools.wraps(original)
    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        verb, resource = kube_request_labels(method, url)
        start = time.perf_counter()
        code = "error"
        try:
            response = original(method, url, *args, **kwargs)
            code = str(getattr(response, "status", "") or "error")
            return response
        except ApiException as exc:  # older clients raise non-2xx here; status 0 means no answer
            code = str(exc.status) if exc.status else "error"
            raise
        finally:
            metrics.KUBE_DURATION.labels(verb, resource).observe(time.perf_counter() - start)
            metrics.KUBE_REQUESTS.labels(verb, resource, code).inc()

    rest.request = request
    setattr(rest, _WRAPPED, True)
    return api


# -- Slack --------------------------------------------------------------------------------------


def instrument_web_client(client: WebClient) -> WebClient:
    """Time and count every Web API call of this client; returns it.

    Bolt builds a new `WebClient` for each request, so the Bolt middleware calls this on each one.
    The wrapper sits on the instance's `api_call`, which every method (chat_postMessage, ...) goes
    through, including the two API calls inside files_upload_v2.
    """
    if getattr(client, _WRAPPED, False):
        return client
    original = client.api_call

    @functools.wraps(original)
    def api_call(api_method: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        outcome = "unreachable"
        try:
            response = original(api_method, *args, **kwargs)
            outcome = "ok" if response.get("ok", True) else metrics.label(str(response.get("error")))
            return response
        except SlackApiError as exc:
            outcome = metrics.label(str(exc.response.get("error") or f"http_{exc.response.status_code}"))
            raise
        finally:
            metrics.SLACK_DURATION.labels(api_method).observe(time.perf_counter() - start)
            metrics.SLACK_CALLS.labels(api_method, outcome).inc()

    client.api_call = api_call  # type: ignore[method-assign]
    setattr(client, _WRAPPED, True)
    return client


# -- checks -------------------------------------------------------------------------------------


def _timed(check_id: str, fn: Callable[[TenantView], Outcome]) -> Callable[[TenantView], Outcome]:
    @functools.wraps(fn)
    def run(view: TenantView) -> Outcome:
        start = time.perf_counter()
        status = "error"  # Check.run turns an exception into an `error` result
        try:
            outcome = fn(view)
            status = outcome.status
            return outcome
        finally:
            metrics.CHECK_DURATION.labels(check_id).observe(time.perf_counter() - start)
            metrics.CHECK_RESULTS.labels(check_id, status).inc()

    setattr(run, _WRAPPED, True)
    return run


def instrument_checks(catalogue: MutableMapping[str, Check] | None = None) -> None:
    """Time each check of the catalogue the engine runs (idempotent).

    Replaces each `Check` with a copy whose function is timed, so `Check.run` (missing inputs,
    exceptions turned into `error`) is unchanged and the engine needs no hook. A check skipped for
    missing input is not timed: it did not run.
    """
    target = CATALOGUE if catalogue is None else catalogue
    for check_id, check in list(target.items()):
        if not getattr(check.fn, _WRAPPED, False):
            target[check_id] = dataclasses.replace(check, fn=_timed(check_id, check.fn))


# -- thread pools -------------------------------------------------------------------------------


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks run in a copy of the submitter's context (correlation id).

    Given to Bolt as its listener executor, so a listener sees the id the middleware bound.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


class ObservedWorkerPool(WorkerPool):
    """The bot's bounded worker pool, carrying the correlation id and counting what it holds and refuses."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future | None:
        future = super().submit(contextvars.copy_context().run, fn, *args)
        if future is None:
            metrics.WORK_REFUSED.inc()
            return None
        metrics.WORK_IN_FLIGHT.inc()
        future.add_done_callback(lambda _: metrics.WORK_IN_FLIGHT.dec())
        return future
