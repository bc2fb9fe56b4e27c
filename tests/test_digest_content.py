"""Digest content and its Block Kit payload: healthy, degraded and changed tenants (golden files), limits.

Golden files (tests/golden/digest/*.json) pin whole payloads: review their diff like code. Regenerate
with `UPDATE_GOLDEN=1 python -m pytest tests/test_digest_content.py`. The history (previous digest,
proposals, remediations) is written through the real store, so its queries are exercised too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import FakeClock
from fakeslack.blocks_limits import validate_blocks

from bot.cluster.bundle import load_bundle
from bot.diagnosis.engine import diagnose
from bot.digest.blocks import DigestRenderer
from bot.digest.collect import TenantRead
from bot.digest.content import DigestContent
from bot.digest.runner import tenant_content
from bot.digest.state import DigestState, Due, FindingRef
from bot.playbooks import load_playbook
from bot.remediation.events import Actor, AuditEvent
from bot.snapshot import KubeObject, TenantSnapshot
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "digest"
SLOT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
YESTERDAY = SLOT - timedelta(days=1)
ALICE, BOB = Actor(id="U0ALICE001", name="alice"), Actor(id="U0BOB00001", name="bob")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(YESTERDAY + timedelta(seconds=4))


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'digest.db'}", env={}, clock=clock) as opened:
        yield opened


def read(example: str, snapshot: TenantSnapshot | None = None) -> TenantRead:
    snap = snapshot or load_bundle(ROOT / "examples" / example)
    return TenantRead(snap.namespace, snap, diagnose(snap, load_playbook("diagnose")))


def post_previous(store: Store, clock: FakeClock, tenant: str, findings: list[FindingRef]) -> None:
    """Yesterday's 09:00 digest, as the runner records it: claimed, posted, baseline."""
    assert store.digests.claim_digest_slot(tenant, YESTERDAY, "replica-a")
    store.digests.mark_posted(tenant, YESTERDAY, channel="C0TEAM0001", message_ts="1764147600.000100")
    DigestState(store.engine, clock).record_baseline(Due(tenant, YESTERDAY), findings)


def digest(store: Store, clock: FakeClock, tenant_read: TenantRead) -> tuple[DigestContent, dict[str, Any]]:
    clock.set(SLOT + timedelta(seconds=3))
    content = tenant_content(store, tenant_read, slot=SLOT, now=clock())
    payload = DigestRenderer().message(content)
    assert validate_blocks(payload["blocks"]) == []
    return content, payload


def check_golden(name: str, payload: dict[str, Any]) -> None:
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == json.loads(golden.read_text(encoding="utf-8"))


def test_healthy_unchanged_tenant_gets_one_line(store: Store, clock: FakeClock) -> None:
    tenant = read("healthy")
    post_previous(store, clock, tenant.namespace, [])
    content, payload = digest(store, clock, tenant)
    assert content.quiet and content.since == YESTERDAY
    assert len(payload["blocks"]) == 1
    check_golden("healthy", payload)


def test_healthy_first_digest_is_one_line_too(store: Store, clock: FakeClock) -> None:
    content, payload = digest(store, clock, read("healthy"))
    assert content.quiet and content.since is None
    assert payload["blocks"][0]["text"]["text"].endswith("first digest")


def test_degraded_tenant_with_an_open_proposal(store: Store, clock: FakeClock) -> None:
    tenant = read("zero-capacity")
    assert tenant.diagnosis is not None
    clock.set(SLOT - timedelta(minutes=20))
    store.approvals.request(
        tenant.diagnosis.proposals[0], tenant=tenant.namespace, requester=ALICE, correlation_id="diag-1", record_id="r1"
    )
    content, payload = digest(store, clock, tenant)
    assert not content.quiet and [p.state for p in content.proposals] == ["PENDING"]
    assert [m.state for m in content.models.failing] == ["ScheduleFailed", "ScheduleFailed"]
    assert content.servers[0].capacity == "0B"  # zero capacity, from the running pod spec
    check_golden("degraded", payload)


def test_changed_tenant_says_what_is_new_resolved_and_remediated(store: Store, clock: FakeClock) -> None:
    tenant = read("netpol-blocked")
    assert tenant.diagnosis is not None
    ongoing = FindingRef.of(tenant.diagnosis.findings[0])
    gone = FindingRef(id="capacity.memory-request-missing@server/mlserver", severity="high", summary="zero capacity")
    post_previous(store, clock, tenant.namespace, [ongoing, gone])
    clock.set(YESTERDAY + timedelta(hours=3))
    for step, outcome, actor in (
        ("requested", "ok", ALICE),
        ("approved", "ok", BOB),
        ("dry-run", "ok", BOB),
        ("applied", "ok", BOB),
        ("verified", "fixed", BOB),
    ):
        clock.advance(timedelta(seconds=30))
        store.audit.append(
            AuditEvent(
                time=clock(),
                tenant=tenant.namespace,
                step=step,
                outcome=outcome,
                actor=ALICE if step == "requested" else actor,
                approver=BOB if step == "approved" else None,
                correlation_id="diag-7",
                proposal_id="capacity.memory-request-missing@Server/mlserver",
                patch_summary="Set memory requests on Server mlserver",
            )
        )
    clock.set(SLOT - timedelta(hours=2))  # a proposal past its 30 minutes: expired in effect, not shown
    store.approvals.request(
        tenant.diagnosis.proposals[0], tenant=tenant.namespace, requester=ALICE, correlation_id="diag-8", record_id="r8"
    )
    content, payload = digest(store, clock, tenant)
    assert [f.id for f in content.resolved_findings] == [gone.id]
    assert [f.id for f in content.ongoing_findings] == [ongoing.id]
    assert [f.id for f in content.new_findings] == [tenant.diagnosis.findings[1].id]
    assert [(r.step, r.outcome, r.approver) for r in content.remediations] == [("verified", "fixed", BOB)]
    assert content.proposals == []
    check_golden("changed", payload)


def test_recovered_tenant_is_not_quiet_until_the_next_digest(store: Store, clock: FakeClock) -> None:
    tenant = read("healthy")
    post_previous(store, clock, tenant.namespace, [FindingRef(id="x@server/a", severity="high", summary="was broken")])
    content, payload = digest(store, clock, tenant)
    assert content.healthy and not content.quiet
    assert ":white_check_mark: was broken" in json.dumps(payload)


def test_unreadable_tenant_is_one_line_with_the_reason(store: Store, clock: FakeClock) -> None:
    _, payload = digest(store, clock, TenantRead("ghost-ml", error="namespace 'ghost-ml' does not exist"))
    assert payload["blocks"] == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":exclamation: *ghost-ml* could not be read: namespace 'ghost-ml' does not exist",
            },
        }
    ]


def test_hundreds_of_failing_models_stay_within_slack_limits(store: Store, clock: FakeClock) -> None:
    base = load_bundle(ROOT / "examples" / "zero-capacity")
    model = base.of("models")[0].to_dict()
    models = []
    for i in range(400):
        copy = json.loads(json.dumps(model))
        copy["metadata"]["name"] = f"model-{i:03d}"
        copy["status"]["conditions"][0]["reason"] = "<!channel> & `x` " + "long reason " * 10
        models.append(KubeObject.model_validate(copy))
    big = base.model_copy(update={"objects": {**base.objects, "models": models}})
    _, payload = digest(store, clock, read("zero-capacity", big))
    text = json.dumps(payload)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    texts = [b["text"]["text"] for b in payload["blocks"] if "text" in b]
    section = next(t for t in texts if t.startswith("*Models*"))
    assert section.startswith("*Models* 0/400 Ready") and section.endswith("more") and len(section) <= 3000
