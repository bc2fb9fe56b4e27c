"""JSON Schema of the Diagnosis JSON output, committed as docs/diagnosis.schema.json.

Regenerate after any change to bot/diagnosis/models.py:  python3 -m bot.render.schema
(tests/test_schema.py fails while the committed file is stale).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from bot.diagnosis.models import SCHEMA_VERSION, Diagnosis

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "diagnosis.schema.json"
SCHEMA_ID = "urn:seldon-chatops:diagnosis"


class _OutputSchema(GenerateJsonSchema):
    """`model_dump`/`model_dump_json` always emit every field, defaults included, so every field is
    required in the output; pydantic only marks them so when a model opts in via its config."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return not field.get("serialization_exclude")
        return super().field_is_required(field, total)


def diagnosis_json_schema() -> dict[str, Any]:
    schema = Diagnosis.model_json_schema(mode="serialization", schema_generator=_OutputSchema)
    return {
        **schema,
        "$schema": GenerateJsonSchema.schema_dialect,
        "$id": SCHEMA_ID,
        "title": "Seldon chat-ops Diagnosis",
        "description": f"One diagnosis of a Seldon Core v2 namespace (schema_version {SCHEMA_VERSION}); "
        "see docs/diagnosis-json.md.",
        "x-schema-version": SCHEMA_VERSION,
    }


def schema_text() -> str:
    """The exact committed form: pretty, sorted keys, trailing newline (stable diffs on regeneration)."""
    return json.dumps(diagnosis_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else SCHEMA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
