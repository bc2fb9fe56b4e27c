"""The result of judging a patch: Judgements, folded into the Assessment's verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from bot.diagnosis.models import Evidence, ObjectRef

JudgementSeverity = Literal["harmful", "no-op", "not-durable", "risky", "ok"]
# Worst last. A risky change can break the tenant; a not-durable one only fails to stick.
SEVERITY_RANK: dict[str, int] = {"ok": 0, "no-op": 1, "not-durable": 2, "risky": 3, "harmful": 4}


class Judgement(BaseModel):
    severity: JudgementSeverity
    code: str = Field(description="stable, e.g. mlserver-host-loopback")
    summary: str
    explanation: str
    evidence: list[Evidence] = Field(default_factory=list)
    instead: str | None = None


class Assessment(BaseModel):
    target: ObjectRef
    owner: ObjectRef | None = None
    verdict: JudgementSeverity
    judgements: list[Judgement] = Field(default_factory=list)
    effective_changes: list[str] = Field(default_factory=list)
