"""`seldon-chatops audit` and `audit verify` through `bot.cli.main`, on both backends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from store_support import make_event

from bot.cli import main
from bot.store import Store
from bot.store.clock import system_clock


@pytest.fixture
def filled(store_url: str) -> str:
    now = system_clock()
    with Store.open(store_url, env={}) as store:
        store.audit.append(make_event(now - timedelta(hours=5), detail="old step", correlation_id="run-old"))
        store.audit.append(
            make_event(
                now - timedelta(minutes=10),
                step="approved",
                approver={"id": "U02BOB", "name": "bob"},
                permalink="https://example.slack.com/archives/C1/p2",
            )
        )
        store.audit.append(make_event(now - timedelta(minutes=5), "fraud-ml", detail="other tenant"))
    return store_url


def test_audit_text(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "risk-ml", "--database-url", filled]) == 0
    out = capsys.readouterr().out
    assert "#1  applied/ok  alice (U01ALICE)  Server risk-ml/mlserver  run run-old" in out
    assert "approved/ok  alice (U01ALICE)  approved by bob (U02BOB)" in out
    assert "    patch: spec.podSpec.containers[mlserver].resources.requests.memory: 2Gi" in out
    assert "    old step" in out and "https://example.slack.com/archives/C1/p2" in out
    assert "other tenant" not in out


def test_audit_jsonl_since(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "risk-ml", "--since", "2h", "--format", "jsonl", "--database-url", filled]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert (doc["id"], doc["step"], doc["approver"]["id"], len(doc["hash"])) == (2, "approved", "U02BOB", 64)


def test_audit_empty_tenant(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--namespace", "verify", "--database-url", filled]) == 0  # a tenant named verify
    captured = capsys.readouterr()
    assert captured.out == "" and "no audit events for verify" in captured.err


def test_verify_ok_then_tampered(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--database-url", filled]) == 0
    assert capsys.readouterr().out.startswith("audit chain ok: 3 rows, last row 3")
    with Store.open(filled, env={}) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET detail = 'nothing happened' WHERE id = 2")
    assert main(["audit", "verify", "--database-url", filled]) == 1
    out = capsys.readouterr().out
    assert out.startswith("audit chain BROKEN at row 2 (")
    assert "row 2 edited" in out and "1 rows before it are intact" in out
    assert main(["audit", "verify", "--format", "jsonl", "--database-url", filled]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["ok"], doc["broken"]["id"], doc["broken"]["problem"]) == (False, 2, "edited")


def test_verify_names_a_deleted_row(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open(filled, env={}) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE id = 2")
    assert main(["audit", "verify", "--database-url", filled]) == 1
    assert "row 2 deleted: gap in the ids, row 3 follows row 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit"], "audit needs a NAMESPACE"),
        (["audit", "Bad_NS"], "invalid namespace name 'Bad_NS'"),
        (["audit", "risk-ml", "--since", "2 hours"], "invalid duration '2 hours'"),
        (["audit", "risk-ml", "--since", "0m"], "longer than zero"),
        (["audit", "verify", "--since", "2h"], "--since reads a tenant's events"),
        (["audit", "risk-ml", "-n", "fraud-ml"], "give the namespace once"),
        (["audit", "risk-ml", "--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--database-url", f"sqlite:///{tmp_path}/db"]) == 2
    assert message in capsys.readouterr().err


def test_explicit_missing_database_exits_2_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--database-url", f"sqlite:///{tmp_path}/typo.db"]) == 2
    assert "no database at" in capsys.readouterr().err and not (tmp_path / "typo.db").exists()
    assert main(["audit", "verify", "--database-url", "mysql://h/db"]) == 2
    assert "unsupported database URL scheme" in capsys.readouterr().err


def test_default_database_on_a_fresh_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SELDON_CHATOPS_DATABASE_URL", raising=False)
    monkeypatch.setenv("SELDON_CHATOPS_STATE_DIR", str(tmp_path / "state"))
    assert main(["audit", "verify"]) == 0
    assert "audit chain ok: 0 rows" in capsys.readouterr().out
    assert (tmp_path / "state" / "seldon-chatops.db").exists()
    monkeypatch.setenv("SELDON_CHATOPS_DATABASE_URL", f"sqlite:///{tmp_path}/state/seldon-chatops.db")
    assert main(["audit", "risk-ml"]) == 0
