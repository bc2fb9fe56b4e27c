"""Digest schedules: cron parsing and validation, time zones, slots, config vs Slack, `/seldon digest` parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.command import channel_ref, parse_digest_args
from bot.digest.plan import effective_schedules, validate_config
from bot.digest.schedule import MISFIRE_GRACE, latest_slot, parse_schedule
from bot.digest.state import ScheduleOverride
from bot.errors import InputError
from bot.remediation.events import Actor
from bot.settings import BotConfig, Tenant
from bot.slack.commands import parse

SUNDAY = datetime(2026, 11, 1, tzinfo=UTC)  # 2026-11-01 is a Sunday


def days(cron: str, timezone: str = "UTC", count: int = 7) -> list[str]:
    return [t.strftime("%a %H:%M") for t in parse_schedule(cron, timezone).next_runs(SUNDAY, count)]


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 9 * * 1-5", ["Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00"]),  # not Tue-Sat
        ("0 9 * * mon-fri", ["Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00"]),
        ("30 8 * * 0", ["Sun 08:30"]),
        ("30 8 * * 7", ["Sun 08:30"]),  # 7 is Sunday too
        ("0 9 * * 5-7", ["Sun 09:00", "Fri 09:00", "Sat 09:00"]),
        ("0 9 * * */2", ["Sun 09:00", "Tue 09:00", "Thu 09:00", "Sat 09:00"]),  # cron's */2 starts on Sunday
        ("0 9 * * 1/2", ["Mon 09:00", "Wed 09:00", "Fri 09:00"]),
        ("0 9,17 * * 1", ["Mon 09:00", "Mon 17:00"]),
    ],
)
def test_weekdays_follow_crontab_not_apscheduler(cron: str, expected: list[str]) -> None:
    assert days(cron, count=len(expected)) == expected


def test_macros_and_day_of_month() -> None:
    assert days("@daily", count=2) == ["Sun 00:00", "Mon 00:00"]
    assert days("@weekly", count=1) == ["Sun 00:00"]
    assert [t.day for t in parse_schedule("0 9 1 * *").next_runs(SUNDAY, 3)] == [1, 1, 1]


def test_time_zones_and_daylight_saving() -> None:
    paris = parse_schedule("0 9 * * *", "Europe/Paris")
    assert paris.label == "0 9 * * * (Europe/Paris)"
    # 2026-10-25: Paris leaves summer time; 09:00 local is 07:00 UTC before and 08:00 UTC after.
    runs = paris.next_runs(datetime(2026, 10, 24, tzinfo=UTC), 2)
    assert [t.astimezone(UTC).hour for t in runs] == [7, 8]
    assert all(t.astimezone(paris.trigger().timezone).hour == 9 for t in runs)
    prefixed = parse_schedule("CRON_TZ=America/New_York 30 7 * * 1-5", "Europe/Paris")
    assert (prefixed.cron, prefixed.timezone) == ("30 7 * * 1-5", "America/New_York")


@pytest.mark.parametrize(
    ("cron", "timezone", "message"),
    [
        ("", "UTC", "empty cron expression"),
        ("0 9 * *", "UTC", "has 4 fields; it needs five"),
        ("0 9 * * 1-5 Europe/Paris", "UTC", "a time zone goes first: CRON_TZ="),
        ("0 25 * * *", "UTC", "hour '25'"),
        ("61 9 * * *", "UTC", "minute '61'"),
        ("0 9 32 * *", "UTC", "day of month '32'"),
        ("0 9 * * 8", "UTC", "'8' is not a day of week"),
        ("0 9 * * 6-2", "UTC", "runs backwards"),
        ("0 9 ? * *", "UTC", "is not standard cron"),
        ("0 9 1 * 1", "UTC", "restricts both day of month and day of week"),
        ("*/5 * * * *", "UTC", "fires every 5 minutes; a digest may run at most once an hour"),
        ("0,30 9 * * *", "UTC", "fires every 30 minutes"),
        ("0 0 31 2 *", "UTC", "never fires"),
        ("0 9 * * *", "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'"),
        ("CRON_TZ=Nowhere 0 9 * * *", "UTC", "unknown time zone 'Nowhere'"),
    ],
)
def test_invalid_schedules_say_what_is_wrong(cron: str, timezone: str, message: str) -> None:
    with pytest.raises(InputError, match="^.*" + message.replace("*", r"\*").replace("?", r"\?")):
        parse_schedule(cron, timezone)


def test_latest_slot_is_the_last_fire_time_within_the_grace_time() -> None:
    trigger = parse_schedule("0 9 * * *").trigger()
    nine = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert latest_slot(trigger, nine) == nine  # on time
    assert latest_slot(trigger, nine + timedelta(minutes=20)) == nine  # late, within grace
    assert latest_slot(trigger, nine + MISFIRE_GRACE) == nine  # the edge is still owed
    assert latest_slot(trigger, nine + MISFIRE_GRACE + timedelta(seconds=1)) is None  # too late: skipped
    assert latest_slot(trigger, nine - timedelta(seconds=1)) is None  # not yet


def _config(**digest: str) -> BotConfig:
    return BotConfig(
        tenants=[
            Tenant(namespace="team-a", channel="C0TEAMA001", digest=digest or None),
            Tenant(namespace="team-b", channel="C0TEAMB001"),
        ]
    )


def _override(tenant: str, **fields: object) -> ScheduleOverride:
    return ScheduleOverride.model_validate(
        {"tenant": tenant, "enabled": True, "updated_by": Actor(id="U0ALICE001"), "updated_at": SUNDAY, **fields}
    )


def test_slack_overrides_win_over_the_config_file() -> None:
    config = _config(cron="0 9 * * 1-5", timezone="Europe/Paris")
    plans = effective_schedules(config, {})
    assert {t: (p.schedule.label, p.channel, p.source) for t, p in plans.items()} == {
        "team-a": ("0 9 * * 1-5 (Europe/Paris)", "C0TEAMA001", "config")
    }
    overrides = {
        "team-a": _override("team-a", enabled=False),
        "team-b": _override("team-b", cron="30 8 * * *", timezone="UTC", channel="C0OPS00001"),
    }
    plans = effective_schedules(config, overrides)
    assert {t: (p.schedule.label, p.channel, p.source) for t, p in plans.items()} == {
        "team-b": ("30 8 * * * (UTC)", "C0OPS00001", "slack")
    }


def test_an_invalid_config_schedule_fails_at_start_up_naming_the_tenant() -> None:
    assert set(validate_config(_config(cron="0 9 * * 1-5"))) == {"team-a"}
    with pytest.raises(InputError, match=r"tenants\[team-a\]\.digest: cron '0 9 \* \*' has 4 fields"):
        validate_config(_config(cron="0 9 * *"))


@pytest.mark.parametrize(
    ("text", "action", "cron", "channel"),
    [
        ("digest team-a", "show", None, None),
        ("digest team-a now", "now", None, None),
        ("digest team-a off", "off", None, None),
        ('digest team-a schedule "0 9 * * 1-5"', "schedule", "0 9 * * 1-5", None),
        ('digest team-a schedule "0 9 * * 1-5" <#C0OPS00001|ops>', "schedule", "0 9 * * 1-5", "<#C0OPS00001|ops>"),
        ("digest team-a schedule 0 9 * * 1-5 #ml-ops", "schedule", "0 9 * * 1-5", "#ml-ops"),
        ('digest team-a schedule "CRON_TZ=Europe/Paris 0 9 * * *" C0OPS00001', "schedule", None, "C0OPS00001"),
    ],
)
def test_slash_command_parsing(text: str, action: str, cron: str | None, channel: str | None) -> None:
    cmd = parse(text)
    assert (cmd.verb, cmd.namespace) == ("digest", "team-a")
    assert cmd.digest is not None
    assert (cmd.digest.action, cmd.digest.channel) == (action, channel)
    if cron is not None:
        assert cmd.digest.cron == cron


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("digest", "usage: /seldon digest <namespace>"),
        ("digest Team_A now", "DNS-1123"),
        ("digest team-a later", "unknown digest action 'later'"),
        ("digest team-a now please", "takes nothing more"),
        ("digest team-a schedule", "give a cron expression"),
        ('digest team-a schedule "*/10 * * * *"', "at most once an hour"),
        ('digest team-a schedule "0 9 * * 1-5" #ops extra', "has 7 fields"),
    ],
)
def test_slash_command_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse(text)


def test_channel_references() -> None:
    assert channel_ref("<#C0OPS00001|ml-ops>") == ("C0OPS00001", "ml-ops")
    assert channel_ref("<#C0OPS00001>") == ("C0OPS00001", None)
    assert channel_ref("#ml-ops") == (None, "ml-ops")
    assert channel_ref("C0OPS00001") == ("C0OPS00001", None)
    assert parse_digest_args([]).action == "show"
