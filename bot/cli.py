"""`seldon-chatops`: the diagnosis engine in a terminal.

Exit codes: 0 healthy, 1 findings, 2 usage or input error (nothing was changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bot import __version__
from bot.cluster.bundle import load_bundle
from bot.diagnosis.engine import diagnose
from bot.diagnosis.view import TenantView
from bot.errors import InputError
from bot.names import validate_namespace
from bot.playbooks import load_playbook
from bot.remediation.assess import assess_patch, load_patch
from bot.render.assessment import render_assessment
from bot.render.markdown import render_markdown
from bot.render.text import render_text
from bot.snapshot import TenantSnapshot

EXIT_HEALTHY, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"seldon-chatops: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seldon-chatops", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seldon-chatops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    diag = sub.add_parser("diagnose", help="diagnose a tenant namespace")
    diag.add_argument("namespace")
    diag.add_argument("--bundle", type=Path, help="support bundle directory (offline diagnosis)")
    diag.add_argument("--playbook", default="diagnose", help="playbook name (default: diagnose)")
    diag.add_argument("--playbooks-dir", type=Path, help="directory of playbooks (default: ./playbooks)")
    diag.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    diag.add_argument("-v", "--verbose", action="store_true", help="show every piece of evidence")

    assess = sub.add_parser("assess", help="judge a patch (a partial manifest) against a tenant")
    assess.add_argument("namespace")
    assess.add_argument("--patch", type=Path, required=True, help="YAML or JSON partial manifest")
    assess.add_argument("--bundle", type=Path, help="support bundle directory")
    assess.add_argument("--output", choices=("text", "json"), default="text")
    return parser


def _snapshot(namespace: str, bundle: Path | None) -> TenantSnapshot:
    validate_namespace(namespace)
    if bundle is None:
        raise InputError("live clusters are not supported yet: pass --bundle DIR (a support bundle)")
    snapshot = load_bundle(bundle)
    if snapshot.namespace != namespace:
        raise InputError(f"bundle {bundle} is for namespace {snapshot.namespace!r}, not {namespace!r}")
    return snapshot


def _diagnose(args: argparse.Namespace) -> int:
    playbook = load_playbook(args.playbook, args.playbooks_dir)
    result = diagnose(_snapshot(args.namespace, args.bundle), playbook)
    if args.output == "json":
        print(result.model_dump_json(indent=2))
    elif args.output == "markdown":
        print(render_markdown(result, verbose=args.verbose))
    else:
        print(render_text(result, color=sys.stdout.isatty(), verbose=args.verbose))
    return EXIT_HEALTHY if result.healthy else EXIT_FINDINGS


def _assess(args: argparse.Namespace) -> int:
    patch = load_patch(args.patch)
    assessment = assess_patch(TenantView(_snapshot(args.namespace, args.bundle)), patch)
    if args.output == "json":
        print(json.dumps(assessment.model_dump(mode="json"), indent=2))
    else:
        print(render_assessment(assessment))
    return EXIT_HEALTHY if assessment.verdict == "ok" else EXIT_FINDINGS


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return int(exc.code or 0)
    try:
        return {"diagnose": _diagnose, "assess": _assess}[args.command](args)
    except InputError as exc:
        print(f"seldon-chatops: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
