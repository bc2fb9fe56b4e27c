"""assess_patch: apply the patch, run every judge on the result, fold the judgements into a verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.diagnosis.view import TenantView, obj_ref
from bot.remediation.assess.changes import describe_changes, scalar_changes
from bot.remediation.assess.context import Ctx, build_context, check_containers, find_target, owner_of
from bot.remediation.assess.judges_hosts import (
    judge_inference_host,
    judge_mlserver_host,
    judge_seldon_server_host,
)
from bot.remediation.assess.judges_memory import judge_memory, judge_parallel_workers
from bot.remediation.assess.judges_ownership import judge_helm, judge_merge_patch_lists, judge_owned
from bot.remediation.assess.judges_podspec import judge_duplicate_env, judge_host_network
from bot.remediation.assess.models import SEVERITY_RANK, Assessment, Judgement, JudgementSeverity
from bot.remediation.assess.patching import validate_patch


def _judge_no_change(ctx: Ctx, changes: list[str]) -> list[Judgement]:
    if changes or not ctx.patch.get("spec"):
        return []
    return [
        Judgement(
            severity="no-op",
            code="no-effective-change",
            summary="the patch changes nothing",
            explanation="Merged into the live object, the patch leaves its spec as it is.",
        )
    ]


_JUDGES: tuple[Callable[[Ctx], list[Judgement]], ...] = (
    judge_mlserver_host,
    judge_seldon_server_host,
    judge_inference_host,
    judge_owned,
    judge_helm,
    judge_host_network,
    judge_merge_patch_lists,
    judge_duplicate_env,
    judge_parallel_workers,
    judge_memory,
)


def assess_patch(view: TenantView, patch: dict[str, Any]) -> Assessment:
    validate_patch(patch)
    target = find_target(view, patch)
    check_containers(patch)
    ctx = build_context(view, patch, target)
    spec_changes = [f"spec.{c}" for c in scalar_changes(target.spec, ctx.patched.get("spec") or {})]
    changes = spec_changes + describe_changes(ctx.before, ctx.after)
    judgements = [j for judge in _JUDGES for j in judge(ctx)] + _judge_no_change(ctx, changes)
    verdict: JudgementSeverity = max((j.severity for j in judgements), key=SEVERITY_RANK.__getitem__, default="ok")
    return Assessment(
        target=obj_ref(target), owner=owner_of(ctx), verdict=verdict, judgements=judgements, effective_changes=changes
    )
