"""`seldon-chatops audit`: read a tenant's audit log, or verify the hash chain of the whole log.

    seldon-chatops audit NAMESPACE [--since DURATION] [--format text|jsonl] [--database-url URL]
    seldon-chatops audit verify [--format text|jsonl] [--database-url URL]

Exit codes: 0 read (even nothing) or chain intact, 1 chain broken (the first broken row is named),
2 usage or input error, or the database cannot be opened. A tenant literally named `verify` is read
with `--namespace verify`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.errors import InputError
from bot.names import validate_namespace
from bot.store import Store, StoreError
from bot.store.clock import Clock, system_clock
from bot.store.models import AuditRecord, VerifyResult
from bot.store.settings import StoreSettings

EXIT_OK, EXIT_BROKEN = 0, 1
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d+)([smhdw])")


def add_parsers(subparsers: Any) -> None:
    """Register `audit` on the CLI's subparsers (the handler is `args.handler`, also exported as `run`)."""
    audit = subparsers.add_parser(
        "audit",
        help="read a tenant's audit log, or `audit verify` its hash chain",
        description=__doc__.splitlines()[0],
    )
    audit.add_argument("target", nargs="?", metavar="NAMESPACE|verify", help="tenant namespace, or 'verify'")
    audit.add_argument("-n", "--namespace", help="tenant namespace (for a tenant named 'verify')")
    audit.add_argument("--since", metavar="DURATION", help="only events of the last DURATION: 30m, 2h, 3d, 1w, 1d12h")
    audit.add_argument("--format", choices=("text", "jsonl"), default="text")
    audit.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: $SELDON_CHATOPS_DATABASE_URL, else the SQLite file in the state directory)",
    )
    audit.set_defaults(handler=run)


def parse_duration(text: str) -> timedelta:
    """`2h`, `3d`, `1d12h`: digits and a unit, repeated. Anything else is an input error."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InputError(f"invalid duration {text!r}: use digits and a unit s, m, h, d or w (e.g. 30m, 2h, 3d)")
    duration = sum((timedelta(**{_UNITS[unit]: int(n)}) for n, unit in parts), timedelta())
    if duration <= timedelta(0):
        raise InputError(f"invalid duration {text!r}: it must be longer than zero")
    return duration


def run(args: argparse.Namespace, *, env: Mapping[str, str] | None = None, clock: Clock = system_clock) -> int:
    env = os.environ if env is None else env
    verify, namespace = _target(args)
    if verify and args.since:
        raise InputError("--since reads a tenant's events; `audit verify` always checks the whole chain")
    since = parse_duration(args.since) if args.since else None
    settings = StoreSettings.from_env(env, override=args.database_url)
    try:
        # An explicit URL must exist already (a typo must not create an empty log that "verifies");
        # the default location is created, as the bot itself would.
        with Store.open(settings.database_url, env=env, clock=clock, create=not settings.explicit) as store:
            if verify:
                return _verify(store, args.format)
            assert namespace is not None
            records = store.audit.query(namespace, since=clock() - since if since else None)
            _print_records(records, namespace, args.format, store.url)
            return EXIT_OK
    except StoreError as exc:
        raise InputError(str(exc)) from exc


def _target(args: argparse.Namespace) -> tuple[bool, str | None]:
    if args.namespace is not None:
        if args.target is not None:
            raise InputError(f"give the namespace once: {args.target!r} and --namespace {args.namespace!r}")
        return False, validate_namespace(args.namespace)
    if args.target is None:
        raise InputError("audit needs a NAMESPACE to read, or 'verify' to check the chain")
    if args.target == "verify":
        return True, None
    return False, validate_namespace(args.target)


def _verify(store: Store, fmt: str) -> int:
    result = store.verify()
    if fmt == "jsonl":
        print(result.model_dump_json())
    else:
        print(render_verify(result, store.url))
    return EXIT_OK if result.ok else EXIT_BROKEN


def render_verify(result: VerifyResult, where: str) -> str:
    if result.ok:
        return f"audit chain ok: {result.rows} rows, last row {result.last_id} ({where})"
    broken = result.broken
    assert broken is not None
    when = f" ({broken.time:%Y-%m-%d %H:%M:%S} UTC)" if broken.time else ""
    return (
        f"audit chain BROKEN at row {broken.id}{when}: {broken.problem}\n"
        f"  {broken.message}\n"
        f"  {result.rows} rows before it are intact ({where})"
    )


def _print_records(records: list[AuditRecord], namespace: str, fmt: str, where: str) -> None:
    if fmt == "jsonl":
        for record in records:
            print(record.model_dump_json())
        return
    if not records:
        print(f"no audit events for {namespace} ({where})", file=sys.stderr)
    for record in records:
        print(render_record(record))


def render_record(record: AuditRecord) -> str:
    """One line per event, then indented lines for what is long (patch, detail, link)."""
    head = [f"{record.time:%Y-%m-%d %H:%M:%S}Z", f"#{record.id}", f"{record.step}/{record.outcome}", str(record.actor)]
    if record.approver:
        head.append(f"approved by {record.approver}")
    if record.target:
        head.append(str(record.target))
    head.append(f"run {record.correlation_id}")
    if record.duration_ms is not None:
        head.append(f"{record.duration_ms} ms")
    lines = ["  ".join(head)]
    if record.patch_summary:
        lines.append(f"    patch: {record.patch_summary}")
    lines.extend(f"    {line}" for line in record.detail.splitlines())
    if record.permalink:
        lines.append(f"    {record.permalink}")
    return "\n".join(lines)
