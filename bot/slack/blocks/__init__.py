"""Block Kit builders: pure functions from the bot's documents to Slack payloads within Slack's limits.

Each returns `{"text": <fallback>, "blocks": [...]}` (the reject modal returns a view) for
chat.postMessage, chat.update or respond; none does I/O.
"""

from bot.slack.blocks.audit import audit_message, progress_line
from bot.slack.blocks.common import error_ephemeral, help_message
from bot.slack.blocks.diagnosis import details_message, diagnosis_message, walkthrough_step
from bot.slack.blocks.proposal import decided_message, proposal_message, reason_from_view, reject_reason_view

__all__ = [
    "audit_message",
    "decided_message",
    "details_message",
    "diagnosis_message",
    "error_ephemeral",
    "help_message",
    "progress_line",
    "proposal_message",
    "reason_from_view",
    "reject_reason_view",
    "walkthrough_step",
]
