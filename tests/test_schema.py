"""The committed JSON Schema matches the model, and real output validates against it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.diagnosis.models import (
    SCHEMA_VERSION,
    CheckResult,
    ConnectivityRow,
    Diagnosis,
    Evidence,
    Finding,
    LogExcerpt,
    ObjectRef,
    Proposal,
)
from bot.render.schema import SCHEMA_PATH, diagnosis_json_schema, schema_text


def _diagnosis() -> Diagnosis:
    server = ObjectRef(kind="Server", name="mlserver", namespace="financial-ml")
    evidence = [
        Evidence(
            summary="no memory request",
            object=server,
            field="spec.podSpec.containers[0].resources",
            value={"limits": {"cpu": "1"}},
        ),
        Evidence(summary="zero capacity", log=LogExcerpt(pod="mlserver-0", container="agent", line="memoryBytes=0")),
    ]
    return Diagnosis(
        namespace="financial-ml",
        playbook="model-not-ready",
        collected_at=datetime(2024, 5, 2, tzinfo=UTC),
        source="bundle.tar.gz",
        tool_version="0.1.0",
        healthy=False,
        headline="Model iris is not Ready",
        checks=[CheckResult(id="capacity", title="Capacity", status="fail", summary="zero", evidence=evidence)],
        connectivity=[
            ConnectivityRow(id="a/b", source="a", target="b", port=9005, verdict="blocked", summary="denied")
        ],
        findings=[
            Finding(
                id="c@server/mlserver",
                code="c",
                severity="critical",
                summary="zero capacity",
                subject=server,
                evidence=evidence,
                rank=1,
                root_cause=True,
            )
        ],
        proposals=[
            Proposal(
                id="p",
                finding_id="c@server/mlserver",
                title="Set request",
                action="patch",
                target=server,
                patch_type="merge",
                patch={"spec": {}},
                diff="--- a\n+++ b\n",
                rationale="capacity comes from the request",
            )
        ],
    )


def test_committed_schema_is_current() -> None:
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert json.loads(committed) == diagnosis_json_schema(), (
        "docs/diagnosis.schema.json is stale: run `python3 -m bot.render.schema` and commit the result"
    )
    assert committed == schema_text(), "regenerate it with `python3 -m bot.render.schema`"


def test_schema_identity_and_required_fields() -> None:
    schema = diagnosis_json_schema()
    assert schema["$id"] and schema["title"]
    assert schema["x-schema-version"] == SCHEMA_VERSION
    required = set(schema["required"])
    assert {"schema_version", "namespace", "playbook", "checks", "connectivity", "findings", "proposals"} <= required


def test_dumped_diagnosis_validates() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed; validation not checked")
    schema = diagnosis_json_schema()
    jsonschema.validators.validator_for(schema).check_schema(schema)
    document = _diagnosis().model_dump(mode="json")
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "findings": [{"id": "x"}]}, schema)


def test_check_catalogue_is_current() -> None:
    """docs/checks.md is generated from the code: regenerate it with `python -m bot.diagnosis.catalogue`."""
    from bot.diagnosis.catalogue import DEFAULT_PATH, catalogue_markdown

    assert DEFAULT_PATH.read_text(encoding="utf-8") == catalogue_markdown()
