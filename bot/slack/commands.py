"""Parse `/seldon ...` text into a typed command, or a clear error saying what is allowed."""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import BaseModel

from bot.digest.command import USAGE as DIGEST_USAGE
from bot.digest.command import DigestRequest, parse_digest_args
from bot.errors import InputError
from bot.names import validate_namespace

Verb = Literal["diagnose", "walkthrough", "status", "restart", "audit", "digest", "help"]
USAGE = {
    "diagnose": "/seldon diagnose <namespace> [playbook]",
    "walkthrough": "/seldon walkthrough <namespace>",
    "status": "/seldon status <namespace>",
    "restart": "/seldon restart <namespace> <server>",
    "audit": "/seldon audit <namespace>",
    "digest": DIGEST_USAGE,
    "help": "/seldon help",
}


class Command(BaseModel):
    verb: Verb
    namespace: str | None = None
    argument: str | None = None  # playbook for diagnose, server for restart
    digest: DigestRequest | None = None  # what `digest` does: show, schedule, off, now


def parse(text: str) -> Command:
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise InputError(f"cannot read the command: {exc}") from None
    if not words or words[0] == "help":
        return Command(verb="help")
    verb, args = words[0], words[1:]
    if verb not in USAGE:
        raise InputError(f"unknown command {verb!r}. Commands: " + "; ".join(USAGE.values()))
    if verb == "digest":
        if not args:
            raise InputError(f"usage: {USAGE[verb]}")
        return Command(verb=verb, namespace=validate_namespace(args[0]), digest=parse_digest_args(args[1:]))
    wanted = {"diagnose": (1, 2), "walkthrough": (1, 1), "status": (1, 1), "restart": (2, 2), "audit": (1, 1)}[verb]
    if not wanted[0] <= len(args) <= wanted[1]:
        raise InputError(f"usage: {USAGE[verb]}")
    namespace = validate_namespace(args[0])
    argument = args[1] if len(args) > 1 else None
    if verb == "restart" and argument is not None:
        validate_namespace(argument)  # a Server name is a DNS-1123 label too
    return Command(verb=verb, namespace=namespace, argument=argument)
