"""`/seldon digest` end to end: signed slash commands -> the Bolt app -> the store and the fake Slack.

These run on a replica with no digest runtime at all (not the leader): schedule changes are stored,
and the leader applies them at its next sweep. Invalid cron is refused in the ack; an unknown
channel or tenant gets an ephemeral error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_helpers import ALICE, CHANNEL, EVE, NS, Bot, running_bot

from bot.digest.state import DigestState

OPS = "C0OPS00001"


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    def channels(_kube, slack) -> None:  # type: ignore[no-untyped-def]
        slack.add_channel(OPS, "ml-ops")
        slack.add_channel("C0OUTSIDE1", "elsewhere", is_member=False)
        slack.add_channel("C0ARCHIVE1", "old-ops", is_archived=True)

    with running_bot(
        tmp_path, tenant={"digest": {"cron": "0 9 * * *", "timezone": "Europe/Paris"}}, before_serve=channels
    ) as running:
        yield running


def overrides(bot: Bot) -> dict:
    return DigestState(bot.store.engine, bot.clock).overrides()


def test_schedule_stores_the_override_and_answers_with_the_next_runs(bot: Bot) -> None:
    status, answer = bot.command(f'digest {NS} schedule "30 8 * * 1-5" <#{OPS}|ml-ops>')
    assert status == 200 and b"On it" in answer
    said = bot.ephemeral_to(ALICE, "scheduled")
    assert f"<#{OPS}>" in said and "(Europe/Paris)" in said  # the tenant's time zone by default
    assert "Next: 2026-11-30 07:30 UTC" in said  # Monday 08:30 in Paris
    override = overrides(bot)[NS]
    assert (override.enabled, override.cron, override.timezone, override.channel) == (
        True,
        "30 8 * * 1-5",
        "Europe/Paris",
        OPS,
    )
    assert override.updated_by.id == ALICE
    assert bot.slack.calls("chat.postMessage") == []


def test_schedule_by_channel_name_and_default_channel(bot: Bot) -> None:
    bot.command(f'digest {NS} schedule "CRON_TZ=UTC 0 7 * * *" #ml-ops')
    bot.ephemeral_to(ALICE, "scheduled")
    assert (overrides(bot)[NS].channel, overrides(bot)[NS].timezone) == (OPS, "UTC")
    bot.command(f'digest {NS} schedule "0 10 * * *"')
    bot.slack.wait_for(lambda: overrides(bot)[NS].cron == "0 10 * * *", timeout=10)
    assert overrides(bot)[NS].channel == CHANNEL  # no channel given: the tenant's


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("<#C0NOPE0001|nope>", "unknown channel #nope (C0NOPE0001)"),
        ("#nope", "unknown channel #nope"),
        ("<#C0OUTSIDE1|elsewhere>", "the bot is not in #elsewhere"),
        ("<#C0ARCHIVE1|old-ops>", "channel #old-ops is archived"),
    ],
)
def test_unknown_or_unusable_channel_is_an_ephemeral_error(bot: Bot, channel: str, expected: str) -> None:
    bot.command(f'digest {NS} schedule "0 9 * * *" {channel}')
    assert expected in bot.ephemeral_to(ALICE, expected)
    assert NS not in overrides(bot)


@pytest.mark.parametrize(
    ("text", "user", "expected"),
    [
        (f'digest {NS} schedule "*/15 * * * *"', ALICE, "at most once an hour"),
        (f'digest {NS} schedule "0 9 * *"', ALICE, "has 4 fields"),
        (f'digest {NS} schedule "0 9 * * *" #ops extra', ALICE, "has 7 fields"),
        (f"digest {NS} someday", ALICE, "unknown digest action"),
        ("digest retail-ml now", ALICE, "you may not use tenant"),
        (f"digest {NS} off", EVE, "you may not use tenant"),
    ],
)
def test_bad_input_is_refused_in_the_ack(bot: Bot, text: str, user: str, expected: str) -> None:
    status, answer = bot.command(text, user)
    assert status == 200 and expected in answer.decode()
    assert overrides(bot) == {} and bot.slack.calls("chat.postMessage") == []


def test_off_overrides_the_config_file(bot: Bot) -> None:
    bot.command(f"digest {NS}")
    assert "0 9 * * *" in bot.ephemeral_to(ALICE, "from the config file")
    bot.command(f"digest {NS} off")
    assert "are off" in bot.ephemeral_to(ALICE, "are off")
    assert overrides(bot)[NS].enabled is False
    bot.command(f"digest {NS}")
    assert "No scheduled digest" in bot.ephemeral_to(ALICE, "No scheduled digest")


def test_now_posts_the_digest_in_the_channel(bot: Bot) -> None:
    bot.command(f"digest {NS} now")
    message = bot.slack.wait_for(lambda: bot.messages_with("Seldon digest"), timeout=20)[0]
    blocks = json.dumps(message.blocks, ensure_ascii=False)
    assert "Seldon digest · financial-ml" in blocks and "zero memory capacity" in blocks
    assert "On request at" in blocks
    assert bot.store.digests.get(NS, bot.clock()) is None  # not a slot: nothing claimed


def test_help_lists_the_digest_command(bot: Bot) -> None:
    _, answer = bot.command("help")
    assert "/seldon digest &lt;namespace&gt; [schedule" in answer.decode()
