"""What every proposal shares: stable ids, spec fingerprints, diffs, and the manual form."""

from __future__ import annotations

import difflib
import hashlib
import json
from typing import Any

import yaml

from bot.diagnosis.models import Finding, ObjectRef, Proposal
from bot.diagnosis.view import TenantView
from bot.snapshot import KubeObject

GI = 2**30
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: 10x faster
HELM_RELEASE = "meta.helm.sh/release-name"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def proposal_id(finding_id: str, target: ObjectRef) -> str:
    """Stable across runs: the same finding on the same object gives the same id."""
    key = f"{finding_id}|{target.kind}|{target.namespace}|{target.name}"
    return "p-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def spec_fingerprint(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def unified_diff(before: dict[str, Any], after: dict[str, Any], name: str) -> str:
    a = yaml.dump(before, Dumper=_DUMPER, sort_keys=False).splitlines(keepends=True)
    b = yaml.dump(after, Dumper=_DUMPER, sort_keys=False).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"{name} (live)", f"{name} (proposed)"))


def helm_risk(obj: KubeObject) -> list[str]:
    release = obj.metadata.annotations.get(HELM_RELEASE)
    if not release:
        return []
    return [
        f"{obj.kind} {obj.name} is managed by Helm release {release!r}: the next `helm upgrade` reverts "
        "this change unless the same values go into the release (seldon-core-v2-servers: "
        "mlserver.podSpec)."
    ]


def manual(finding: Finding, view: TenantView, title: str, steps: list[str]) -> Proposal:
    target = finding.subject or ObjectRef(kind="Namespace", name=view.ns)
    return Proposal(
        id=proposal_id(finding.id, target),
        finding_id=finding.id,
        action="manual",
        target=target,
        title=title,
        steps=steps,
        rationale=finding.explanation or finding.summary,
    )
