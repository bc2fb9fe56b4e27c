"""`seldon-chatops`: the diagnosis engine in a terminal.

Exit codes: 0 healthy (or a verified change), 1 findings (or a change that failed), 2 usage or input
error, or the cluster could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bot import __version__, cli_audit, cli_digest, cli_remediate, cli_serve
from bot.cluster.bundle import load_bundle, write_bundle
from bot.cluster.client import api_client
from bot.cluster.collector import Collector, Limits
from bot.diagnosis.engine import diagnose
from bot.diagnosis.view import TenantView
from bot.errors import ClusterError, InputError
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

    diag = sub.add_parser("diagnose", help="diagnose a tenant namespace (live, or from a support bundle)")
    diag.add_argument("namespace")
    _source_arguments(diag)
    diag.add_argument("--playbook", default="diagnose", help="playbook name (default: diagnose)")
    diag.add_argument("--playbooks-dir", type=Path, help="directory of playbooks (default: ./playbooks)")
    diag.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    diag.add_argument("-v", "--verbose", action="store_true", help="show every piece of evidence")

    assess = sub.add_parser("assess", help="judge a patch (a partial manifest) against a tenant")
    assess.add_argument("namespace")
    assess.add_argument("--patch", type=Path, required=True, help="YAML or JSON partial manifest")
    _source_arguments(assess)
    assess.add_argument("--output", choices=("text", "json"), default="text")

    bundle = sub.add_parser("bundle", help="write a support bundle of a tenant namespace from a live cluster")
    bundle.add_argument("namespace")
    bundle.add_argument("-o", "--output-dir", type=Path, required=True, help="new (or empty) directory")
    _cluster_arguments(bundle)
    cli_remediate.add_parsers(sub, _cluster_arguments)
    cli_audit.add_parsers(sub)
    cli_digest.add_parser(sub, _cluster_arguments)
    cli_serve.add_parser(sub)
    return parser


def _cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: $KUBECONFIG, in-cluster)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument(
        "--operator-namespace",
        default="seldon-mesh",
        help="namespace of the Seldon operator and its ServerConfigs (default: seldon-mesh)",
    )


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, help="support bundle directory (offline; default: live cluster)")
    _cluster_arguments(parser)


def _collect(args: argparse.Namespace, limits: Limits | None = None) -> TenantSnapshot:
    validate_namespace(args.namespace)  # before any request: bad names never reach the API
    api, where = api_client(args.kubeconfig, args.context)
    with api:
        collector = Collector(
            api, operator_namespace=args.operator_namespace, source=f"live:{where}", limits=limits or Limits()
        )
        return collector.collect(args.namespace)


def _snapshot(args: argparse.Namespace) -> TenantSnapshot:
    validate_namespace(args.namespace)
    if args.bundle is None:
        return _collect(args)
    snapshot = load_bundle(args.bundle)
    if snapshot.namespace != args.namespace:
        raise InputError(f"bundle {args.bundle} is for namespace {snapshot.namespace!r}, not {args.namespace!r}")
    return snapshot


def _diagnose(args: argparse.Namespace) -> int:
    playbook = load_playbook(args.playbook, args.playbooks_dir)
    result = diagnose(_snapshot(args), playbook)
    if args.output == "json":
        print(result.model_dump_json(indent=2))
    elif args.output == "markdown":
        print(render_markdown(result, verbose=args.verbose))
    else:
        print(render_text(result, color=sys.stdout.isatty(), verbose=args.verbose))
    return EXIT_HEALTHY if result.healthy else EXIT_FINDINGS


def _assess(args: argparse.Namespace) -> int:
    patch = load_patch(args.patch)
    assessment = assess_patch(TenantView(_snapshot(args)), patch)
    if args.output == "json":
        print(json.dumps(assessment.model_dump(mode="json"), indent=2))
    else:
        print(render_assessment(assessment))
    return EXIT_HEALTHY if assessment.verdict == "ok" else EXIT_FINDINGS


def _bundle(args: argparse.Namespace) -> int:
    if args.output_dir.exists() and any(args.output_dir.iterdir()):
        raise InputError(f"bundle {args.output_dir}: directory exists and is not empty")
    snapshot = _collect(args, Limits(all_logs=True))
    root = write_bundle(snapshot, args.output_dir)
    for kind, error in sorted(snapshot.errors.items()):
        detail = f" (missing permission: {error.missing_permission})" if error.missing_permission else ""
        print(f"warning: {kind} not collected: {error.message}{detail}", file=sys.stderr)
    count = sum(len(items) for items in snapshot.objects.values())
    print(f"wrote {root}: {count} objects, {len(snapshot.logs)} logs, {len(snapshot.errors)} collection errors")
    return EXIT_HEALTHY


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return int(exc.code or 0)
    try:
        handlers = {
            "diagnose": _diagnose,
            "assess": _assess,
            "bundle": _bundle,
            "remediate": lambda a: cli_remediate.remediate(a, _collect),
            "restart": lambda a: cli_remediate.restart(a, _collect),
            "audit": cli_audit.run,
            "digest": lambda a: cli_digest.run(a, _collect),
            "serve": cli_serve.serve,
        }
        return handlers[args.command](args)
    except (InputError, ClusterError) as exc:
        print(f"seldon-chatops: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
