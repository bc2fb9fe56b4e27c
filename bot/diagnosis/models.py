"""The Diagnosis document: the contract between the engine and every renderer.

Terminal text, JSON (schema exported to docs/diagnosis.schema.json), Slack blocks and digests all
render this model and never re-derive facts. Bump SCHEMA_VERSION on any incompatible change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = "1.1"

CheckStatus = Literal["pass", "fail", "warn", "skip", "error"]
Verdict = Literal["ok", "blocked", "degraded", "unknown"]
Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_WEIGHT: dict[str, int] = {"critical": 8, "high": 4, "medium": 2, "low": 1}


class ObjectRef(BaseModel):
    kind: str
    name: str
    namespace: str | None = None
    api_version: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class LogExcerpt(BaseModel):
    pod: str
    container: str
    previous: bool = False
    time: str | None = None
    line: str


class Evidence(BaseModel):
    """One fact, with where it was read: an object's field, a log line, an event, or an absence."""

    summary: str
    object: ObjectRef | None = None
    field: str | None = Field(None, description="field path in the object, e.g. spec.replicas")
    value: Any = None
    log: LogExcerpt | None = None


class CheckResult(BaseModel):
    id: str
    title: str
    status: CheckStatus
    summary: str
    explanation: str = ""
    failure_modes: list[str] = Field(default_factory=list, description="F1..F16 of the Seldon brief")
    evidence: list[Evidence] = Field(default_factory=list)
    finding_ids: list[str] = Field(default_factory=list)


class ConnectivityRow(BaseModel):
    id: str = Field(description="stable row id, e.g. agent-scheduler/mlserver")
    source: str
    target: str
    port: int = Field(description="port the source dials (Service port, or the loopback port)")
    target_port: int | None = Field(None, description="container port on the target pod")
    protocol: str = "TCP"
    verdict: Verdict
    summary: str
    evidence: list[Evidence] = Field(default_factory=list)
    finding_ids: list[str] = Field(default_factory=list)


class Symptom(BaseModel):
    """What the user sees: a Model not Ready, a Server not Ready, a pod crash-looping."""

    id: str
    summary: str
    object: ObjectRef


class Finding(BaseModel):
    id: str = Field(description="code@subject, stable across runs")
    code: str = Field(description="stable dotted name, e.g. capacity.memory-request-missing")
    severity: Severity
    summary: str
    explanation: str = ""
    failure_mode: str | None = None
    subject: ObjectRef | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    explains: list[str] = Field(default_factory=list, description="ids of the symptoms it explains")
    data: dict[str, Any] = Field(default_factory=dict, description="machine-readable facts for proposals")
    rank: int = 0
    root_cause: bool = False


class Proposal(BaseModel):
    id: str = Field(description="derived from finding code and target, stable across runs")
    finding_id: str
    title: str
    action: Literal["patch", "restart", "create", "manual"]
    target: ObjectRef
    target_resource_version: str | None = None
    target_spec_hash: str | None = Field(
        None, description="sha256 of the target's spec when proposed: status-only changes do not void the proposal"
    )
    patch_type: Literal["merge", "json", "none"] = "none"
    patch: Any = None
    manifest: dict[str, Any] | None = Field(None, description="object to create, for action=create")
    diff: str = Field("", description="unified diff of the target before/after")
    steps: list[str] = Field(default_factory=list, description="what a human does, for action=manual")
    rationale: str
    risks: list[str] = Field(default_factory=list)
    verify: list[str] = Field(default_factory=list, description="signals that prove it worked")
    automatic: bool = Field(False, description="the bot may apply it after approval")
    check_ids: list[str] = Field(default_factory=list, description="checks to re-run to verify the fix")
    symptom_ids: list[str] = Field(default_factory=list, description="symptoms the fix must clear")


class StepResult(BaseModel):
    id: str
    title: str
    intro: str
    status: CheckStatus
    summary: str
    check_ids: list[str] = Field(default_factory=list)
    connectivity_ids: list[str] = Field(default_factory=list)
    kubectl: list[str] = Field(default_factory=list, description="commands a human can run to confirm this step")


class CollectionProblem(BaseModel):
    kind: str
    message: str
    missing_permission: str | None = None


class Diagnosis(BaseModel):
    schema_version: str = SCHEMA_VERSION
    namespace: str
    playbook: str
    collected_at: datetime
    source: str
    tool_version: str
    healthy: bool
    headline: str
    steps: list[StepResult] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    connectivity: list[ConnectivityRow] = Field(default_factory=list)
    symptoms: list[Symptom] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    proposals: list[Proposal] = Field(default_factory=list)
    collection_errors: list[CollectionProblem] = Field(default_factory=list)
