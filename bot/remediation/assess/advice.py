"""The "Instead" of the ownership judges: the same change made at the layer that owns the object."""

from __future__ import annotations

import json
from typing import Any

from bot.diagnosis.models import ObjectRef
from bot.remediation.assess.context import Ctx, desired_pod_spec
from bot.remediation.assess.patching import apply_patch
from bot.remediation.proposals import HELM_RELEASE
from bot.seldon.objects import container, env_entry


def owner_instead(ctx: Ctx, owner: ObjectRef | None) -> str:
    if ctx.server is None:
        kind = owner.kind if owner else "owner"
        return (
            f"Change the {kind} that generates it (a SeldonRuntime: spec.overrides[].podSpec for the "
            "component), never the generated object."
        )
    name = ctx.server.name
    carried, dropped = _carry_over(ctx)
    if carried:
        podspec = apply_patch(ctx.server.spec.get("podSpec") or {}, carried, strategic=True)
        body = json.dumps({"spec": {"podSpec": podspec}}, separators=(",", ":"))
        text = (
            f"Patch Server {ctx.ns}/{name} instead, with its whole spec.podSpec.containers list "
            "(read-modify-write: a JSON merge patch on a CR replaces lists): "
            f"kubectl patch server {name} -n {ctx.ns} --type merge -p '{body}'."
        )
    else:
        text = (
            f"Nothing in this patch belongs in Server {ctx.ns}/{name}; a pod change that is needed goes "
            "in its spec.podSpec (read-modify-write of the containers list)."
        )
    if dropped:
        text += f" Left out: {', '.join(dropped)} (see their judgements)."
    if "replicas" in (ctx.patch.get("spec") or {}):
        text += f" Scale with the Server: kubectl scale server {name} -n {ctx.ns} --replicas=N."
    return f"{text} {_helm_note(ctx)}".strip()


def _unwanted(c: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Env entries and args of a patch container that the host judges reject: never carried over."""
    env = [v for v in c.get("env") or [] if v.get("name") in ("MLSERVER_HOST", "SELDON_SERVER_HOST")]
    args = [a for a in c.get("args") or [] if str(a).startswith("--inference-host")]
    return env, args


def _carry_over(ctx: Ctx) -> tuple[dict[str, Any], list[str]]:
    """The part of a workload patch worth moving to the Server podSpec, and what was left out."""
    desired = desired_pod_spec(ctx)
    kept: list[dict[str, Any]] = []
    dropped = ["hostNetwork"] if "hostNetwork" in ctx.fragment else []
    for c in ctx.patch_containers():
        base = container(desired, c["name"]) or {}
        bad_env, bad_args = _unwanted(c)
        dropped += [f"{c['name']} env {v.get('name')}" for v in bad_env]
        dropped += [f"{c['name']} arg {a}" for a in bad_args]
        entry = {
            k: v
            for k, v in c.items()
            if k == "name" or (k not in ("env", "args") and apply_patch(base.get(k), v, strategic=True) != base.get(k))
        }
        env = [v for v in c.get("env") or [] if v not in bad_env and env_entry(base, v.get("name", "")) != v]
        args = [a for a in c.get("args") or [] if a not in bad_args and a not in (base.get("args") or [])]
        entry.update({k: v for k, v in (("env", env), ("args", args)) if v})
        if set(entry) - {"name"}:
            kept.append(entry)
    carried = {k: v for k, v in ctx.fragment.items() if k not in ("containers", "hostNetwork")}
    return ({**carried, "containers": kept} if kept else carried), dropped


def _helm_note(ctx: Ctx) -> str:
    notes = []
    config_users = f"every Server using ServerConfig {ctx.config.name}" if ctx.config else ""
    for obj, what in ((ctx.server, "this Server"), (ctx.config, config_users)):
        if obj is None:
            continue
        release = obj.metadata.annotations.get(HELM_RELEASE)
        where = f"{obj.kind} {obj.namespace or ctx.view.snap.operator_namespace}/{obj.name}"
        if release:
            notes.append(
                f"{where} is managed by Helm release {release}: put the change for {what} in that "
                "release's values, or the next helm upgrade undoes it."
            )
        elif obj.kind == "ServerConfig":
            notes.append(f"To change {what}, change {where}.")
    return " ".join(notes)


def read_modify_write(full: list[dict[str, Any]]) -> str:
    """The whole containers list to send; spelled out only while it stays readable."""
    body = json.dumps({"spec": {"podSpec": {"containers": full}}}, separators=(",", ":"))
    names = ", ".join(str(c.get("name")) for c in full)
    text = f"Read-modify-write: send the whole spec.podSpec.containers list ({names}) with the change"
    return f"{text}: {body}" if len(body) <= 1500 else f"{text}, e.g. with kubectl edit or the Helm values."
