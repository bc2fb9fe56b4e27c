"""`labelSelector` and `fieldSelector` query parameters (apimachinery labels.Parse, fields.ParseSelector).

Label selectors support `=`, `==`, `!=`, `in (...)`, `notin (...)`, `key` and `!key`. Field selectors
support `=`, `==`, `!=` on the fields the kind's apiserver strategy exposes; anything else is a
400, as on a real cluster (`field label not supported: spec.foo`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import bad_request
from .resources import ResourceType

Json = dict[str, Any]

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = rf"(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?{_NAME}"
_VALUE = rf"(?:{_NAME})?"
_SET = re.compile(rf"({_KEY})\s+(in|notin)\s*\(([^()]*)\)")
_EQUALITY = re.compile(rf"({_KEY})\s*(==|!=|=)\s*({_VALUE})")
_EXISTS = re.compile(rf"(!?)\s*({_KEY})")
# Field names whose selector reads a nested value (the Event `source` field is source.component).
_FIELD_ALIASES = {"source": "source.component"}


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        inside = present and labels[self.key] in self.values
        return inside if self.op == "in" else not inside


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside `( )` value sets."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _requirement(term: str) -> Requirement:
    if m := _SET.fullmatch(term):
        values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
        if not values or not all(re.fullmatch(_VALUE, v) for v in values):
            raise bad_request(f"unable to parse requirement: invalid values in {term!r}")
        return Requirement(m.group(1), m.group(2), values)
    if m := _EQUALITY.fullmatch(term):
        return Requirement(m.group(1), "notin" if m.group(2) == "!=" else "in", frozenset({m.group(3)}))
    if m := _EXISTS.fullmatch(term):
        return Requirement(m.group(2), "!exists" if m.group(1) else "exists")
    raise bad_request(f"unable to parse requirement: invalid label selector term {term!r}")


def parse_label_selector(text: str | None) -> list[Requirement]:
    return [_requirement(term) for term in _split_terms(text or "")]


def _field_value(obj: Json, path: str) -> str:
    value: Any = obj
    for part in _FIELD_ALIASES.get(path, path).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _unsupported(rt: ResourceType, name: str) -> Exception:
    if rt.custom:
        supported = ", ".join(f'"{f}"' for f in rt.selectable_fields)
        return bad_request(f'"{name}" is not a known field selector: only {supported}')
    return bad_request(f"field label not supported: {name}")


def parse_field_selector(rt: ResourceType, text: str | None) -> list[tuple[str, bool, str]]:
    """(field, wanted_equal, value) triples; unsupported fields are refused like the apiserver."""
    parsed = []
    for term in _split_terms(text or ""):
        m = re.fullmatch(r"([A-Za-z.]+)\s*(==|!=|=)\s*(.*)", term)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        if m.group(1) not in rt.selectable_fields:
            raise _unsupported(rt, m.group(1))
        parsed.append((m.group(1), m.group(2) != "!=", m.group(3)))
    return parsed


def object_filter(rt: ResourceType, label_selector: str | None, field_selector: str | None) -> Callable[[Json], bool]:
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(rt, field_selector)

    def accept(obj: Json) -> bool:
        obj_labels = (obj.get("metadata") or {}).get("labels") or {}
        if not all(r.matches(obj_labels) for r in labels):
            return False
        return all((_field_value(obj, f) == v) == equal for f, equal, v in fields)

    return accept
