"""Races: 16 threads and 2 processes (separate `Store`s, like replicas) on one record or one chain.

Exactly one racer wins each transition; every loser gets AlreadyDecided naming the winner.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

from clocks import FakeClock
from store_support import append_process, attempt, make_event, make_proposal, race_process

from bot.remediation.events import Actor
from bot.store import Store

THREADS, PROCESSES = 16, 2


def _race(store: Store, url: str, action: str, record_id: str) -> list[tuple[str, str, str, str]]:
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=race_process, args=(url, action, record_id, f"P{n}", ready, go, results))
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=120)  # each replica has opened the store
        barrier = threading.Barrier(THREADS + 1)
        outcomes: list[tuple[str, str, str, str]] = []
        lock = threading.Lock()

        def racer(who: str) -> None:
            barrier.wait(60)
            outcome = attempt(store, action, record_id, who)
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=racer, args=(f"T{n:02d}",)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        go.set()
        barrier.wait(60)
        for thread in threads:
            thread.join(120)
        outcomes.extend(results.get(timeout=120) for _ in procs)
    finally:
        for proc in procs:
            proc.join(60)
            if proc.is_alive():
                proc.terminate()
    assert all(proc.exitcode == 0 for proc in procs)
    assert len(outcomes) == THREADS + PROCESSES
    return outcomes


def _one_winner(outcomes: list[tuple[str, str, str, str]], state: str) -> str:
    winners = [who for who, result, _, _ in outcomes if result == "won"]
    assert len(winners) == 1, outcomes
    (winner,) = winners
    losers = [o for o in outcomes if o[1] == "lost"]
    assert len(losers) == THREADS + PROCESSES - 1
    for _, _, error, message in losers:
        assert error == "AlreadyDecided", message
        assert message.startswith(f"already decided by {winner.lower()} ({winner}) at ")
        assert message.endswith(f"({state})")
    return winner


def test_many_approvers_one_winner(store: Store, store_url: str) -> None:
    record = store.approvals.request(make_proposal(), tenant="risk-ml", requester=Actor(id="U0"), correlation_id="race")
    winner = _one_winner(_race(store, store_url, "approve", record.id), "APPROVED")
    final = store.approvals.get(record.id)
    assert (final.state, final.decided_by, final.version) == ("APPROVED", Actor(id=winner, name=winner.lower()), 2)


def test_many_appliers_one_applying(store: Store, store_url: str) -> None:
    record = store.approvals.request(make_proposal(), tenant="risk-ml", requester=Actor(id="U0"), correlation_id="race")
    store.approvals.approve(record.id, Actor(id="U1", name="bob"))
    winner = _one_winner(_race(store, store_url, "apply", record.id), "APPLYING")
    final = store.approvals.get(record.id)
    assert (final.state, final.replica_id, final.version) == ("APPLYING", winner, 3)
    assert len(store.approvals.find(states=["APPLYING"])) == 1


def test_threads_and_processes_appending_keep_one_chain(store: Store, store_url: str, clock: FakeClock) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per_writer = 20
    procs = [
        ctx.Process(target=append_process, args=(store_url, f"P{n}", per_writer, ready, go, results))
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    errors: list[BaseException] = []
    try:
        for _ in procs:
            ready.get(timeout=120)

        def writer(n: int) -> None:
            try:
                for i in range(per_writer):
                    store.audit.append(make_event(clock(), detail=f"T{n} #{i}"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        go.set()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        done: list[Any] = [results.get(timeout=180) for _ in procs]
    finally:
        for proc in procs:
            proc.join(60)
            if proc.is_alive():
                proc.terminate()
    assert not errors and sorted(done) == ["P0", "P1"]
    result = store.verify()
    assert result.ok, result.broken
    assert result.rows == result.last_id == (6 + PROCESSES) * per_writer
