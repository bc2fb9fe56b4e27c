"""Configuration of the Slack app: a YAML file for tenants and policy, the environment for secrets.

Validated once at start-up; an error names the file and the field. Tokens come from environment
variables or from files (`*_FILE`, for Kubernetes Secret mounts) and are never logged: pydantic's
SecretStr keeps them out of reprs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import InputError, first_error
from bot.names import validate_namespace

SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")  # users (U/W) and user groups (S)
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class Digest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cron: str = Field(description="five-field cron, e.g. '0 9 * * 1-5'")
    timezone: str = "UTC"


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: str
    channel: str = Field(description="channel id where the tenant's team works, e.g. C0123ABCD")
    audit_channel: str | None = Field(None, description="channel id for audit messages")
    requesters: list[str] = Field(default_factory=list, description="Slack user (U…) or user group (S…) ids")
    approvers: list[str] = Field(default_factory=list)
    allow_self_approval: bool = Field(False, description="false = two-person rule: requesters cannot approve")
    direct_restart: bool = Field(False, description="requesters may restart without an approval")
    digest: Digest | None = None

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        try:
            return validate_namespace(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("channel", "audit_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not CHANNEL_ID.match(value):
            raise ValueError(f"{value!r} is not a Slack channel id (C… or G…); use the id, not the #name")
        return value

    @field_validator("requesters", "approvers")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not SLACK_ID.match(v)]
        if bad:
            raise ValueError(f"{bad} are not Slack user (U…/W…) or user group (S…) ids")
        return values


class BotConfig(BaseModel):
    """The YAML file."""

    model_config = ConfigDict(extra="forbid")
    tenants: list[Tenant] = Field(min_length=1)
    operator_namespace: str = "seldon-mesh"
    proposal_ttl_minutes: int = Field(30, ge=1, le=24 * 60)
    workers: int = Field(8, ge=1, le=64, description="concurrent diagnoses and remediations")
    rollout_timeout_seconds: float = Field(600, gt=0)
    verify_timeout_seconds: float = Field(300, gt=0)

    @field_validator("tenants")
    @classmethod
    def _unique(cls, tenants: list[Tenant]) -> list[Tenant]:
        seen = [t.namespace for t in tenants]
        dupes = sorted({n for n in seen if seen.count(n) > 1})
        if dupes:
            raise ValueError(f"tenant namespaces listed twice: {dupes}")
        return tenants

    def tenant(self, namespace: str) -> Tenant | None:
        return next((t for t in self.tenants if t.namespace == namespace), None)


class Secrets(BaseSettings):
    """From the environment (or `<NAME>_FILE` pointing at a mounted Secret)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    seldon_chatops_database_url: SecretStr | None = None
    kubeconfig: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_files(cls, data: dict) -> dict:
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SELDON_CHATOPS_DATABASE_URL"):
            file = os.environ.get(f"{name}_FILE")
            if file and not os.environ.get(name):
                try:
                    data[name.lower()] = Path(file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise InputError(f"{name}_FILE={file}: cannot read it: {exc.strerror or exc}") from None
        return data

    def require(self, mode: Literal["socket", "http"]) -> None:
        needed = {"slack_bot_token": "SLACK_BOT_TOKEN"}
        needed |= (
            {"slack_app_token": "SLACK_APP_TOKEN"}
            if mode == "socket"
            else {"slack_signing_secret": "SLACK_SIGNING_SECRET"}
        )
        missing = [env for field, env in needed.items() if getattr(self, field) is None]
        if missing:
            raise InputError(f"{mode} mode needs {', '.join(missing)} (or {missing[0]}_FILE) in the environment")


def load_config(path: str | Path) -> BotConfig:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config {path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"config {path}: invalid YAML: {exc}") from exc
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"config {path}: {first_error(exc)}") from exc
