"""What the apiserver does to a custom resource with its CRD's structural schema, in its order:
drop `null` for non-nullable fields, apply `default`s, prune unknown fields, then validate
`type`, `enum` and `required`.

Pruning matters: a field that is not in the schema is silently dropped (with a `Warning` header,
or a 400 with `fieldValidation=Strict`), so a typo in a patch changes nothing on a real cluster.
Not checked: formats, patterns, min/max, CEL rules, list-map keys.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .errors import field_error

Json = dict[str, Any]
_SYSTEM_KEYS = ("apiVersion", "kind", "metadata")


@dataclass
class Admission:
    pruned: list[str] = field(default_factory=list)  # paths of dropped unknown fields
    causes: list[Json] = field(default_factory=list)  # validation errors as StatusCauses


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "unknown")


def _type_ok(value: Any, schema: Json) -> bool:
    actual = _json_type(value)
    if schema.get("x-kubernetes-int-or-string"):
        return actual in ("integer", "string")
    wanted = schema.get("type")
    return not wanted or actual == wanted or (wanted == "number" and actual == "integer")


def _child_schema(schema: Json, key: str) -> Json | None:
    props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
    if key in props:
        return props[key]
    return extra if isinstance(extra, dict) else None


def _keeps_unknown(schema: Json) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True


def _object(value: Json, schema: Json, path: str, result: Admission) -> None:
    prefix = f"{path}." if path else ""
    for key in list(value):
        if not path and key in _SYSTEM_KEYS:
            continue
        child = _child_schema(schema, key)
        if value[key] is None and not (child or {}).get("nullable"):
            del value[key]
        elif child is None and not _keeps_unknown(schema):
            result.pruned.append(prefix + key)
            del value[key]
    for key, child in (schema.get("properties") or {}).items():
        if key not in value and "default" in child:
            value[key] = copy.deepcopy(child["default"])
    for key in schema.get("required") or []:
        if key not in value:
            result.causes.append(field_error(prefix + key, "FieldValueRequired"))
    for key, item in value.items():
        child = _child_schema(schema, key)
        if child is not None and not (not path and key in _SYSTEM_KEYS):
            _value(item, child, prefix + key, result)


def _value(value: Any, schema: Json, path: str, result: Admission) -> None:
    if value is None:
        return
    if not _type_ok(value, schema):
        actual, wanted = _json_type(value), schema.get("type") or "integer,string"
        result.causes.append(
            field_error(path, "FieldValueInvalid", f'{path} in body must be of type {wanted}: "{actual}"', actual)
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(f'"{v}"' for v in schema["enum"])
        result.causes.append(field_error(path, "FieldValueNotSupported", f"supported values: {supported}", value))
    if isinstance(value, dict):
        _object(value, schema, path, result)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _value(item, schema["items"], f"{path}[{i}]", result)


def admit(obj: Json, schema: Json | None) -> Admission:
    """Default, prune and validate `obj` in place (metadata is left to the generic code)."""
    result = Admission()
    if schema:
        _object(obj, schema, "", result)
    return result
