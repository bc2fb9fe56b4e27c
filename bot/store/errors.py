"""Typed store errors: the Slack app and the CLI turn each into a clear answer without parsing text.

Every error means nothing was written: a transition that raises left the record as it was.
"""

from __future__ import annotations

from datetime import datetime


class StoreError(Exception):
    """Base of everything the store raises on purpose."""


class DatabaseUrlError(StoreError):
    """The database URL does not parse or names a backend the store does not support."""


class DatabaseUnavailable(StoreError):
    """The database could not be opened, reached or migrated (the message names it, password hidden)."""


class UnknownProposal(StoreError):
    """No proposal record has this id."""

    def __init__(self, record_id: str) -> None:
        super().__init__(f"unknown proposal {record_id!r}")
        self.record_id = record_id


class TransitionError(StoreError):
    """A state transition was refused; the record is unchanged."""

    def __init__(self, message: str, *, record_id: str, state: str) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.state = state


class AlreadyDecided(TransitionError):
    """Someone else moved the record first: the loser of a double click, a second approver, a replica."""

    def __init__(self, *, record_id: str, state: str, by: str, at: datetime) -> None:
        when = at.strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(f"already decided by {by} at {when} ({state})", record_id=record_id, state=state)
        self.by = by
        self.at = at


class IllegalTransition(TransitionError):
    """The state machine has no edge from the record's state to the requested one."""

    def __init__(self, *, record_id: str, state: str, target: str) -> None:
        super().__init__(
            f"proposal {record_id} is {state}: it cannot become {target}", record_id=record_id, state=state
        )
        self.target = target


class ProposalExpired(TransitionError):
    """The decision window closed: the cluster may have moved on since the proposal was made."""

    def __init__(self, *, record_id: str, expired_at: datetime) -> None:
        when = expired_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(
            f"proposal {record_id} expired at {when}: run the diagnosis again for a fresh proposal",
            record_id=record_id,
            state="PENDING",
        )
        self.expired_at = expired_at


class SelfApprovalRefused(TransitionError):
    """Four eyes: the requester may not approve their own proposal unless the deployment allows it."""

    def __init__(self, *, record_id: str, actor: str) -> None:
        super().__init__(
            f"{actor} requested proposal {record_id} and may not approve it too", record_id=record_id, state="PENDING"
        )


class TargetBusy(TransitionError):
    """Another proposal is already APPLYING to the same object: two patches must not interleave."""

    def __init__(self, *, record_id: str, target: str) -> None:
        super().__init__(
            f"cannot start proposal {record_id}: another proposal is applying to {target}",
            record_id=record_id,
            state="APPROVED",
        )
