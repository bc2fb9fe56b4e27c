"""Errors the user caused and can fix: the CLI prints them and exits 2, Slack replies with them."""

from __future__ import annotations

from pydantic import ValidationError


def first_error(exc: ValidationError) -> str:
    """The first validation problem as `field a.b.c: message`, for errors that name file and field."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"field {where}: {err['msg']}"


class InputError(Exception):
    """Bad input: a namespace name, a bundle, a playbook, a patch file. Nothing was changed."""


class BundleError(InputError):
    """A support bundle is missing, corrupt or incomplete. The message names the file."""


class PlaybookError(InputError):
    """A playbook does not load: unknown name, bad YAML, a field that fails validation."""


class ClusterError(Exception):
    """The Kubernetes API could not be used at all (unreachable, credentials rejected)."""
