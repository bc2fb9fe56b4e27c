"""Which tenant gets a digest when, and where: the config file's schedules, overridden from Slack.

A schedule set with `/seldon digest <ns> schedule|off` wins over the config file's `digest:` for that
tenant until changed again from Slack; tenants without one follow the file. Config schedules are
validated at start-up (`validate_config`) so that a typo fails the deployment, not the 09:00 digest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.digest.schedule import Schedule, parse_schedule
from bot.digest.state import ScheduleOverride
from bot.errors import InputError
from bot.settings import BotConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantSchedule:
    tenant: str
    schedule: Schedule
    channel: str
    source: Literal["config", "slack"]


def validate_config(config: BotConfig) -> dict[str, Schedule]:
    """Every `digest:` of the config parsed; InputError names the tenant and what is wrong."""
    schedules = {}
    for tenant in config.tenants:
        if tenant.digest is None:
            continue
        try:
            schedules[tenant.namespace] = parse_schedule(tenant.digest.cron, tenant.digest.timezone)
        except InputError as exc:
            raise InputError(f"config: tenants[{tenant.namespace}].digest: {exc}") from None
    return schedules


def effective_schedules(config: BotConfig, overrides: Mapping[str, ScheduleOverride]) -> dict[str, TenantSchedule]:
    plans: dict[str, TenantSchedule] = {}
    for tenant in config.tenants:
        override = overrides.get(tenant.namespace)
        try:
            if override is not None:
                if override.enabled and override.cron:
                    schedule = parse_schedule(override.cron, override.timezone or "UTC")
                    channel = override.channel or tenant.channel
                    plans[tenant.namespace] = TenantSchedule(tenant.namespace, schedule, channel, "slack")
            elif tenant.digest is not None:
                schedule = parse_schedule(tenant.digest.cron, tenant.digest.timezone)
                plans[tenant.namespace] = TenantSchedule(tenant.namespace, schedule, tenant.channel, "config")
        except InputError as exc:  # validated on the way in; a stored row from an older rule is skipped, loudly
            log.error("digest schedule of %s ignored: %s", tenant.namespace, exc)
    return plans
