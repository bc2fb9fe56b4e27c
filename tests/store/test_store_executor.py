"""Done-when check: the real executor's audit events land in the store, intact and in order."""

from __future__ import annotations

from pathlib import Path

from fakekube import FakeKube

from bot.cluster.collector import Collector
from bot.diagnosis.engine import diagnose
from bot.playbooks import load_playbook
from bot.remediation.events import Actor, CollectingSink, FanOut
from bot.remediation.executor import Executor
from bot.remediation.kube import KubeTarget
from bot.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "zero-capacity"


def test_executor_dry_run_events_are_stored(store: Store) -> None:
    with FakeKube() as kube:
        kube.seed_bundle(EXAMPLE)
        api = kube.api_client()
        snapshot = Collector(api).collect("financial-ml")
        proposal = next(p for p in diagnose(snapshot, load_playbook("diagnose")).proposals if p.automatic)
        terminal = CollectingSink()
        executor = Executor(KubeTarget(api), FanOut(store, terminal), clock=store.clock)
        result = executor.run(proposal, actor=Actor(id="U01ALICE", name="alice"), dry_run=True, correlation_id="run-x")
    assert result.result == "dry-run", result.message
    stored = store.audit.by_correlation("run-x")
    assert [r.step for r in stored] == [e.step for e in terminal.events] and stored
    for record, event in zip(stored, terminal.events, strict=True):
        assert record.model_dump(include=set(event.model_dump())) == event.model_dump()
    assert store.audit.query("financial-ml") == stored
    assert store.verify().ok
