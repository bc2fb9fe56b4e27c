"""Who may do what for which tenant: requesters run commands, approvers decide proposals.

Rules come from the config (user ids and user-group ids per tenant). Group membership is read from
Slack (`usergroups.users.list`) and cached for a few minutes: a removed approver loses the right
within that time, and a burst of clicks does not hammer the API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import BotConfig, Tenant

GROUP_TTL_SECONDS = 300.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer:
    def __init__(
        self,
        config: BotConfig,
        group_members: Callable[[str], set[str]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config, self._group_members, self._clock = config, group_members, clock
        self._groups: dict[str, tuple[float, set[str]]] = {}

    def _members(self, group: str) -> set[str]:
        cached = self._groups.get(group)
        if cached is None or self._clock() - cached[0] > GROUP_TTL_SECONDS:
            try:
                members = self._group_members(group)
            except Exception as exc:  # a deleted group, a missing scope, Slack down: fail closed, ask again next time
                log.warning("cannot read the members of user group %s: %s", group, exc)
                return set()
            cached = (self._clock(), members)
            self._groups[group] = cached
        return cached[1]

    def _listed(self, user: str, ids: list[str]) -> bool:
        return user in ids or any(user in self._members(g) for g in ids if g.startswith("S"))

    def visible_tenants(self, user: str) -> list[str]:
        return [t.namespace for t in self.config.tenants if self._listed(user, t.requesters + t.approvers)]

    def may_request(self, user: str, namespace: str) -> Decision:
        tenant = self.config.tenant(namespace)
        if tenant is None or not self._listed(user, tenant.requesters + tenant.approvers):
            # Same answer for unknown and forbidden tenants: do not reveal which namespaces exist.
            allowed = ", ".join(self.visible_tenants(user)) or "none"
            return Decision(False, f"you may not use tenant {namespace!r}; your tenants: {allowed}")
        return Decision(True)

    def may_approve(self, user: str, tenant: Tenant, requester: str) -> Decision:
        if not self._listed(user, tenant.approvers):
            return Decision(False, f"you are not an approver for {tenant.namespace}")
        if user == requester and not tenant.allow_self_approval:
            return Decision(
                False, f"two-person rule: the requester cannot approve their own proposal in {tenant.namespace}"
            )
        return Decision(True)
