"""The check catalogue: every check by id. Modules list their checks in CHECKS; nothing registers itself."""

from __future__ import annotations

from bot.diagnosis.checks import agent_control, agent_loopback, capacity, models, runtime, servers
from bot.diagnosis.checks.base import Check

CATALOGUE: dict[str, Check] = {
    c.id: c for module in (runtime, servers, capacity, agent_loopback, agent_control, models) for c in module.CHECKS
}
