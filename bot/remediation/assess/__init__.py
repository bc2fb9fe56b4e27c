"""Judge a proposed patch against a snapshot before anyone applies it.

Runbooks and chat advice ("folklore") arrive as partial manifests. This package applies the patch the
way the API server would (strategic merge for built-in kinds, JSON merge patch for Seldon CRs, which
have no strategic merge), runs the result through the operator's own merge (`bot.seldon.operator`),
and judges what would really happen: probes that start failing, variables nobody reads, edits the
operator reverts, lists a merge patch replaces. Facts and mechanisms are those of
docs/seldon-v2.md (sections 1.1-1.4, 2.2-2.4, F4, F8, F14 and 7).

Modules: `patching` (load, validate, merge), `context` (what every judge reads), one `judges_*`
module per topic, `changes` (effective changes in words), `engine` (assess_patch). Rendering lives in
`bot.render.assessment`.
"""

from bot.remediation.assess.changes import describe_changes
from bot.remediation.assess.engine import assess_patch
from bot.remediation.assess.models import SEVERITY_RANK, Assessment, Judgement, JudgementSeverity
from bot.remediation.assess.patching import apply_patch, load_patch, validate_patch

__all__ = [
    "SEVERITY_RANK",
    "Assessment",
    "Judgement",
    "JudgementSeverity",
    "apply_patch",
    "assess_patch",
    "describe_changes",
    "load_patch",
    "validate_patch",
]
