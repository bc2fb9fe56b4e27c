"""Object names, uids and timestamps as the apiserver assigns and validates them.

UIDs and generated name suffixes derive from a sequence number, so a test run is reproducible.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from .errors import field_error
from .resources import ResourceType

_UID_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")
# names.SimpleNameGenerator's alphabet: no vowels, no confusable digits.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def new_uid(seq: int) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"fakekube-{seq}"))


def generate_name(prefix: str, seq: int) -> str:
    digest = hashlib.sha256(f"{prefix}{seq}".encode()).digest()
    return prefix + "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:5])


def timestamp(moment: datetime) -> str:
    """metav1.Time: RFC 3339 in UTC with whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_errors(rt: ResourceType, name: Any) -> list[dict[str, Any]]:
    """ValidateObjectMeta's name check for the kind: a DNS label for namespaces, a path segment for
    RBAC objects (`system:controller:x` is valid), a DNS subdomain for everything else."""
    if not name:
        return [field_error("metadata.name", "FieldValueRequired", "name or generateName is required")]
    if rt.group == "rbac.authorization.k8s.io":
        bad = name in (".", "..") or "/" in name or "%" in name
        return [field_error("metadata.name", "FieldValueInvalid", "may not contain '/' or '%'", name)] if bad else []
    label = rt.plural == "namespaces" and not rt.group
    limit, pattern, message = (63, _LABEL, _LABEL_MSG) if label else (253, _SUBDOMAIN, _SUBDOMAIN_MSG)
    errors = []
    if len(name) > limit:
        errors.append(
            field_error("metadata.name", "FieldValueInvalid", f"must be no more than {limit} characters", name)
        )
    if not re.fullmatch(pattern, name):
        errors.append(field_error("metadata.name", "FieldValueInvalid", message, name))
    return errors
