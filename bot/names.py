"""Validation of names before they reach the API or the file system."""

from __future__ import annotations

import re

from bot.errors import InputError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate_namespace(name: str) -> str:
    """Namespaces are DNS-1123 labels: lower-case alphanumerics and '-', at most 63 characters."""
    if not name or len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise InputError(
            f"invalid namespace name {name!r}: a namespace is a DNS-1123 label "
            "(at most 63 characters: lower-case letters, digits and '-', starting and ending "
            "with a letter or digit)"
        )
    return name
