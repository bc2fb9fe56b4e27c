"""`seldon-chatops remediate` and `restart`: the executor in a terminal.

Both show the dry-run diff first and ask for confirmation on a terminal unless `--yes`; progress
is streamed as audit events; the exit code is 0 only when the change is verified (or a dry run).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from collections.abc import Callable
from typing import TextIO

from kubernetes import client

from bot.cluster.client import api_client
from bot.cluster.collector import Collector
from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Proposal
from bot.diagnosis.view import TenantView
from bot.errors import InputError
from bot.playbooks import load_playbook
from bot.remediation.events import Actor, AuditEvent, AuditSink, FanOut
from bot.remediation.executor import Execution, Executor, Timing
from bot.remediation.kube import KubeTarget
from bot.remediation.proposals import restart_proposal
from bot.remediation.verify import LiveVerifier
from bot.snapshot import TenantSnapshot
from bot.store.store import Store

Collect = Callable[[argparse.Namespace], TenantSnapshot]
ClusterArguments = Callable[[argparse.ArgumentParser], None]


class TerminalSink:
    """Streams each audit event as one line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def emit(self, event: AuditEvent) -> None:
        print(f"  [{event.time:%H:%M:%S}] {event.step:<11} {event.outcome:<11} {event.detail}", file=self.out)


def add_parsers(sub: argparse._SubParsersAction, cluster_arguments: ClusterArguments) -> None:
    rem = sub.add_parser("remediate", help="apply a proposal of a fresh diagnosis, then verify it")
    rem.add_argument("namespace")
    rem.add_argument("--proposal", required=True, help="proposal id from `diagnose` (stable across runs)")
    rem.add_argument(
        "--no-rollback", action="store_true", help="keep the change when the rollout or verification fails"
    )
    _common(rem, cluster_arguments)
    restart = sub.add_parser("restart", help="rollout restart a Server's StatefulSet, then verify it")
    restart.add_argument("namespace")
    restart.add_argument("server")
    _common(restart, cluster_arguments)


def _common(parser: argparse.ArgumentParser, cluster_arguments: ClusterArguments) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show the server-side dry-run diff only")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--rollout-timeout", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--verify-timeout", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--database-url", help="audit store (default: $SELDON_CHATOPS_DATABASE_URL, else the "
                        "SQLite file in the state directory)")
    cluster_arguments(parser)


def remediate(args: argparse.Namespace, collect: Collect, sink: AuditSink | None = None) -> int:
    snapshot = collect(args)
    diagnosis = diagnose(snapshot, load_playbook("diagnose"))
    proposal = next((p for p in diagnosis.proposals if p.id == args.proposal), None)
    if proposal is None:
        offered = ", ".join(f"{p.id} ({p.title})" for p in diagnosis.proposals) or "none"
        raise InputError(
            f"no proposal {args.proposal} in a fresh diagnosis of {args.namespace} "
            f"(fixed already, or the tenant changed); current proposals: {offered}"
        )
    return _execute(args, proposal, sink)


def restart(args: argparse.Namespace, collect: Collect, sink: AuditSink | None = None) -> int:
    snapshot = collect(args)
    sts = TenantView(snapshot).get("statefulsets", args.server)
    if sts is None:
        raise InputError(f"no StatefulSet {args.server} in namespace {args.namespace}")
    why = f"Restart requested from the terminal by {_actor()}."
    return _execute(args, restart_proposal(sts, "", why, snapshot.collected_at.isoformat()), sink)


def _actor() -> Actor:
    return Actor(id=f"cli:{getpass.getuser()}")


def _execute(args: argparse.Namespace, proposal: Proposal, sink: AuditSink | None) -> int:
    out = sys.stdout
    api, where = api_client(args.kubeconfig, args.context)
    # Every step also lands in the durable audit log, as it does from Slack.
    with api, Store.open(getattr(args, "database_url", None)) as store:
        executor = _executor(api, args, FanOut(TerminalSink(out), store, *([sink] if sink else [])))
        actor, run_id = _actor(), f"run-{uuid.uuid4().hex[:12]}"
        print(f"{proposal.title}\n  target: {proposal.target} ({where})\n  why: {proposal.rationale}", file=out)
        plan = executor.run(proposal, actor=actor, dry_run=True, correlation_id=run_id)
        print(plan.diff or "  (no change)", file=out)
        if plan.result != "dry-run" or args.dry_run:
            print(plan.message, file=out)
            return 0 if plan.result == "dry-run" else 1
        if not args.yes and not _confirm(proposal):
            print("not applied", file=out)
            return 1
        result = executor.run(
            proposal,
            actor=actor,
            approver=actor,
            correlation_id=run_id,
            rollback=not getattr(args, "no_rollback", False),
        )
        _report(result, out)
        return 0 if result.result == "fixed" else 1


def _executor(api: client.ApiClient, args: argparse.Namespace, sink: AuditSink) -> Executor:
    def collect() -> TenantSnapshot:
        return Collector(api, operator_namespace=args.operator_namespace).collect(args.namespace)

    verifier = LiveVerifier(collect, load_playbook("diagnose"), timeout=args.verify_timeout)
    return Executor(KubeTarget(api), sink, verifier, timing=Timing(rollout_timeout=args.rollout_timeout))


def _confirm(proposal: Proposal) -> bool:
    if not sys.stdin.isatty():
        raise InputError("confirmation needs a terminal: pass --yes to apply without asking")
    answer = input(f"Apply {proposal.id} to {proposal.target}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _report(result: Execution, out: TextIO) -> None:
    print(f"{result.result.upper()}: {result.message}", file=out)
    for evidence in result.verification.evidence if result.verification else []:
        print(f"  - {evidence.summary}", file=out)
