"""Remediation proposals: for each actionable root cause, the change at the layer that owns it.

`propose` maps each finding code to its builder: podSpec patches of the Server CR (`podspec`),
restarts, NetworkPolicies and manifests (`cluster`), all sharing ids and diffs (`common`).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.diagnosis.models import Finding, Proposal
from bot.diagnosis.view import TenantView
from bot.remediation.proposals.cluster import (
    ZOMBIE_RATIONALE,
    network_policy,
    requirements_fix,
    restart,
    restart_proposal,
    runtime_missing,
    serverconfig_fix,
)
from bot.remediation.proposals.common import HELM_RELEASE, RESTARTED_AT, proposal_id, spec_fingerprint, unified_diff
from bot.remediation.proposals.podspec import inference_host, memory_request, mlserver_host

BUILDERS: dict[str, Callable[[Finding, TenantView], Proposal | None]] = {
    "capacity.memory-request-missing": memory_request,
    "agent.inference-host-not-loopback": inference_host,
    "agent.mlserver-host": mlserver_host,
    "agent.zombie": restart,
    "networkpolicy.blocks-path": network_policy,
    "runtime.missing": runtime_missing,
    "capacity.memory-config-wrong": serverconfig_fix,
    "models.requirements-unmet": requirements_fix,
    "models.server-missing": requirements_fix,
}


def propose(findings: list[Finding], view: TenantView) -> list[Proposal]:
    proposals = []
    for f in findings:
        builder = BUILDERS.get(f.code)
        proposal = builder(f, view) if builder else None
        if proposal is not None and all(p.id != proposal.id for p in proposals):
            proposals.append(proposal)
    return proposals


__all__ = [
    "BUILDERS",
    "HELM_RELEASE",
    "RESTARTED_AT",
    "ZOMBIE_RATIONALE",
    "proposal_id",
    "propose",
    "restart_proposal",
    "spec_fingerprint",
    "unified_diff",
]
