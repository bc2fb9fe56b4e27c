"""What a digest says about one tenant: facts gathered from the diagnosis, the objects and the store.

This module decides *what* to say (and when a tenant deserves a single line); `blocks.py` decides
how it looks. Nothing here re-judges the cluster: health and findings are the diagnosis engine's,
the runtime/server/model figures are read straight from the objects' status, and proposals and
remediations come from the store (approvals and the audit log), the system of record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from bot.diagnosis.checks.capacity import replica_capacity
from bot.diagnosis.checks.runtime import COMPONENT_CONDITIONS
from bot.diagnosis.models import ConnectivityRow, Diagnosis, Finding
from bot.diagnosis.symptoms import model_ready, model_state
from bot.diagnosis.view import TenantView
from bot.digest.state import Baseline, FindingRef
from bot.remediation.events import Actor
from bot.seldon.objects import condition_true
from bot.seldon.quantity import human_bytes
from bot.snapshot import KubeObject
from bot.store.models import AuditRecord, ProposalRecord

FIRST_WINDOW = timedelta(days=1)
"""With no previous digest, proposals and remediations of the last day are shown."""

OPEN_STATES = ("PENDING", "APPROVED", "APPLYING")
_QUIET_STEPS = {"preflight", "dry-run", "rollout"}  # intermediate steps: the run's last word is what counts


class Component(BaseModel):
    name: str
    ready: bool | None = Field(description="None: the runtime reports no condition for it")


class ServerLine(BaseModel):
    name: str
    ready: bool
    ready_replicas: int | None
    desired_replicas: int | None
    capacity: str | None = Field(description="memory per replica as the agent reports it, when known")
    loaded_models: int | None


class FailingModel(BaseModel):
    name: str
    state: str
    reason: str


class Models(BaseModel):
    ready: int = 0
    total: int = 0
    failing: list[FailingModel] = Field(default_factory=list)


class Connectivity(BaseModel):
    ok: int = 0
    total: int = 0
    problems: list[str] = Field(default_factory=list, description="'source -> target: verdict, summary'")


class OpenProposal(BaseModel):
    title: str
    state: str
    requester: Actor
    requested_at: datetime


class Remediation(BaseModel):
    """One remediation run since the previous digest, by its last audit event."""

    time: datetime
    what: str
    step: str
    outcome: str
    actor: Actor
    approver: Actor | None = None


class DigestContent(BaseModel):
    tenant: str
    slot: datetime | None = Field(description="the scheduled slot; None for `now` and the CLI")
    generated_at: datetime
    since: datetime | None = Field(description="the previous digest's slot; None for the first one")
    error: str | None = Field(None, description="the tenant could not be read at all")
    healthy: bool = False
    headline: str = ""
    runtime: str | None = None
    components: list[Component] = Field(default_factory=list)
    servers: list[ServerLine] = Field(default_factory=list)
    models: Models = Field(default_factory=Models)
    connectivity: Connectivity = Field(default_factory=Connectivity)
    new_findings: list[FindingRef] = Field(default_factory=list)
    resolved_findings: list[FindingRef] = Field(default_factory=list)
    ongoing_findings: list[FindingRef] = Field(default_factory=list)
    proposals: list[OpenProposal] = Field(default_factory=list)
    remediations: list[Remediation] = Field(default_factory=list)
    collection_problems: list[str] = Field(default_factory=list)

    @property
    def findings(self) -> list[FindingRef]:
        """What this digest shows as current: the baseline for the next one."""
        return [*self.new_findings, *self.ongoing_findings]

    @property
    def quiet(self) -> bool:
        """Healthy and nothing happened since the previous digest: one short line is enough."""
        return (
            self.error is None
            and self.healthy
            and not self.collection_problems
            and not (self.new_findings or self.resolved_findings or self.proposals or self.remediations)
        )


def build_content(
    tenant: str,
    *,
    diagnosis: Diagnosis | None,
    view: TenantView | None,
    error: str | None,
    baseline: Baseline | None,
    proposals: Sequence[ProposalRecord],
    audit: Sequence[AuditRecord],
    slot: datetime | None,
    now: datetime,
) -> DigestContent:
    """The digest of one tenant. `proposals` and `audit` are the store's, already limited to the window."""
    content = DigestContent(
        tenant=tenant,
        slot=slot,
        generated_at=now,
        since=baseline.slot if baseline else None,
        error=error,
        proposals=[_open(p) for p in proposals if p.state in OPEN_STATES and not _lapsed(p, now)],
        remediations=remediations(audit),
    )
    if diagnosis is None or view is None:
        return content
    current = [FindingRef.of(f) for f in _ordered(diagnosis.findings)]
    before = {f.id for f in baseline.findings} if baseline else set()
    now_ids = {f.id for f in current}
    content.healthy = diagnosis.healthy
    content.headline = diagnosis.headline
    content.new_findings = [f for f in current if f.id not in before]
    content.ongoing_findings = [f for f in current if f.id in before]
    content.resolved_findings = [f for f in baseline.findings if f.id not in now_ids] if baseline else []
    content.runtime = view.runtime.name if view.runtime else None
    content.components = _components(view)
    content.servers = [_server(view, s) for s in view.servers]
    content.models = _models(view)
    content.connectivity = _connectivity(diagnosis.connectivity)
    content.collection_problems = [
        f"{p.kind}: missing permission {p.missing_permission}" if p.missing_permission else f"{p.kind}: {p.message}"
        for p in diagnosis.collection_errors
    ]
    return content


def window_start(baseline: Baseline | None, now: datetime) -> datetime:
    """Proposals and remediations are shown from the previous digest on (or for the last day)."""
    if baseline is None:
        return now - FIRST_WINDOW
    return baseline.posted_at or baseline.slot


def remediations(audit: Sequence[AuditRecord]) -> list[Remediation]:
    """One line per run (correlation id and proposal), by its last meaningful event."""
    runs: dict[tuple[str, str | None], list[AuditRecord]] = {}
    for event in audit:
        runs.setdefault((event.correlation_id, event.proposal_id), []).append(event)
    lines = []
    for events in runs.values():
        meaningful = [e for e in events if e.step not in _QUIET_STEPS] or events
        last = meaningful[-1]
        if last.step == "requested":
            continue  # still waiting: shown as an open proposal
        approver = next((e.approver or e.actor for e in events if e.step == "approved"), None)
        what = next((e.patch_summary for e in events if e.patch_summary), "") or last.proposal_id or last.step
        lines.append(
            Remediation(
                time=last.time,
                what=what,
                step=last.step,
                outcome=last.outcome,
                actor=events[0].actor,
                approver=approver,
            )
        )
    return sorted(lines, key=lambda r: r.time)


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (not f.root_cause, f.rank, f.id))


def _open(record: ProposalRecord) -> OpenProposal:
    return OpenProposal(
        title=record.proposal.title, state=record.state, requester=record.requester, requested_at=record.requested_at
    )


def _lapsed(record: ProposalRecord, now: datetime) -> bool:
    """A PENDING proposal past its expiry is expired in effect, even before anyone touched it."""
    return record.state == "PENDING" and record.expires_at < now


def _components(view: TenantView) -> list[Component]:
    runtime = view.runtime
    if runtime is None:
        return []
    return [
        Component(name=name, ready=condition_true(runtime, cond)) for cond, (name, _, _) in COMPONENT_CONDITIONS.items()
    ]


def _server(view: TenantView, server: KubeObject) -> ServerLine:
    sts = view.get("statefulsets", server.name)
    desired = server.spec.get("replicas")
    if desired is None and sts is not None:
        desired = sts.spec.get("replicas")
    ready = sts.status.get("readyReplicas", 0) if sts is not None else None
    pod_spec, source = view.running_pod_spec(server)
    capacity = replica_capacity(pod_spec).total_bytes if source is not None else None
    loaded = server.status.get("loadedModels")
    return ServerLine(
        name=server.name,
        ready=condition_true(server, "Ready") is True,
        ready_replicas=ready,
        desired_replicas=desired,
        capacity=human_bytes(capacity) if capacity is not None else None,
        loaded_models=int(loaded) if isinstance(loaded, int) else None,
    )


def _models(view: TenantView) -> Models:
    failing = []
    for model in view.models:
        if not model_ready(model):
            state, reason = model_state(model)
            failing.append(FailingModel(name=model.name, state=state, reason=reason))
    return Models(ready=len(view.models) - len(failing), total=len(view.models), failing=failing)


def _connectivity(rows: Sequence[ConnectivityRow]) -> Connectivity:
    problems = [f"{r.source} -> {r.target}: {r.verdict}, {r.summary}" for r in rows if r.verdict != "ok"]
    return Connectivity(ok=sum(r.verdict == "ok" for r in rows), total=len(rows), problems=problems)
