"""A `DigestContent` as a Slack message: jinja2 templates for the words, `bot.slack.blocks.kit` for the limits.

A healthy tenant with nothing new is one section, one line. Otherwise: header, when, verdict,
runtime, Servers, Models, connectivity, what changed since the previous digest, open proposals and
remediations. Lists are cut at whole lines to fit a section ("… and 12 more"), and the message stays
within 50 blocks because every part is at most one block.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import jinja2

from bot.digest.content import DigestContent
from bot.digest.templates import PLAIN, TEMPLATES
from bot.slack import limits
from bot.slack.blocks import kit
from bot.slack.limits import escape


class Mrkdwn(str):
    """Text that is already Slack mrkdwn (escaped where needed): the template's finalize leaves it alone."""

    __slots__ = ()


def _finalize(value: Any) -> Any:
    if isinstance(value, Mrkdwn) or not isinstance(value, str):
        return "" if value is None else value
    return escape(value)


def _ready_emoji(ready: bool | None) -> Mrkdwn:
    return Mrkdwn({True: ":white_check_mark:", False: ":x:", None: ":grey_question:"}[ready])


def _verdict_emoji(content: DigestContent) -> Mrkdwn:
    if content.healthy:
        return Mrkdwn(":white_check_mark:")
    severities = {f.severity for f in content.findings}
    worst = next((s for s in ("critical", "high", "medium", "low") if s in severities), None)
    return Mrkdwn(kit.SEVERITY_EMOJI[worst] if worst else ":warning:")


def _outcome_emoji(outcome: str) -> Mrkdwn:
    good = outcome in ("ok", "fixed")
    return Mrkdwn(":white_check_mark:" if good else ":hourglass_flowing_sand:" if outcome == "in-progress" else ":x:")


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "code": lambda text: Mrkdwn(kit.code(str(text))),
        "mention": lambda user: Mrkdwn(kit.mention(user)),
        "when": lambda moment: Mrkdwn(escape(kit.slack_time(moment))) if isinstance(moment, datetime) else moment,
        "plural": lambda n: "" if (n if isinstance(n, int) else len(n)) == 1 else "s",
        "ready_emoji": _ready_emoji,
        "verdict_emoji": _verdict_emoji,
        "severity_emoji": lambda severity: Mrkdwn(kit.SEVERITY_EMOJI.get(severity, ":white_circle:")),
        "outcome_emoji": _outcome_emoji,
    }


def _environment(plain: bool) -> jinja2.Environment:
    """`plain` environments (header) do not escape: Slack shows plain_text verbatim."""
    env = jinja2.Environment(
        loader=jinja2.DictLoader(TEMPLATES),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=None if plain else _finalize,
    )
    env.filters.update(_filters())
    return env


class DigestRenderer:
    """Compiles the templates once; build one per runner (or CLI call) and reuse it for every tenant."""

    def __init__(self) -> None:
        self._mrkdwn = _environment(plain=False)
        self._plain = _environment(plain=True)

    def render(self, name: str, content: DigestContent) -> str:
        env = self._plain if name in PLAIN else self._mrkdwn
        return env.get_template(name).render(c=content).strip()

    def message(self, content: DigestContent) -> dict[str, Any]:
        """The chat.postMessage payload (text + blocks) of one tenant's digest."""
        fallback = self.render("fallback", content)
        if content.error is not None:
            return kit.message(fallback, [kit.section(self.render("error", content))])
        if content.quiet:
            return kit.message(fallback, [kit.section(self.render("quiet", content))])
        blocks = [
            kit.header(self.render("header", content)),
            kit.context(self.render("meta", content)),
            kit.section(self.render("headline", content)),
            kit.section(self.render("runtime", content)),
        ]
        parts = (
            ("servers", content.servers),
            ("models", content.models.total),
            ("connectivity", content.connectivity.total),
            ("new", content.new_findings),
            ("resolved", content.resolved_findings),
            ("ongoing", content.ongoing_findings),
            ("proposals", content.proposals),
            ("remediations", content.remediations),
        )
        blocks += [self._lines(name, content) for name, present in parts if present]
        if content.collection_problems:
            blocks.append(kit.context(self.render("problems", content)))
        return kit.message(fallback, blocks)

    def _lines(self, name: str, content: DigestContent) -> kit.Block:
        lines = [ln for ln in self.render(name, content).split("\n") if ln.strip()]
        return kit.section(limits.fit_lines(lines, limits.SECTION_TEXT, lambda n: f"… and {n} more"))
