"""Configuration: the YAML file's errors name the file and the field; secrets come from env or files and never
show up in a repr."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.errors import InputError
from bot.settings import BotConfig, Secrets, load_config

TOKEN = "xoxb-1234567890-super-secret-bot-token"
APP_TOKEN = "xapp-1-A0000-secret-app-token"
SIGNING = "0123456789abcdef-signing-secret"
ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SELDON_CHATOPS_DATABASE_URL",
    "KUBECONFIG",
)


def tenant(**fields: object) -> dict:
    return {
        "namespace": "financial-ml",
        "channel": "C0FINANCE1",
        "audit_channel": "C0AUDIT001",
        "requesters": ["U0ALICE001", "S0MLTEAM01"],
        "approvers": ["U0BOB00001"],
        **fields,
    }


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


# -- the YAML file ---------------------------------------------------------------------------------


def test_a_valid_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"tenants": [tenant(digest={"cron": "0 9 * * 1-5"})]}))
    [only] = config.tenants
    assert (only.namespace, only.channel, only.allow_self_approval, only.direct_restart) == (
        "financial-ml",
        "C0FINANCE1",
        False,
        False,
    )
    assert only.digest is not None and only.digest.timezone == "UTC"
    assert (config.proposal_ttl_minutes, config.operator_namespace) == (30, "seldon-mesh")
    assert config.tenant("financial-ml") is only and config.tenant("retail-ml") is None


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"tenants": [tenant(namespace="Financial_ML")]}, "tenants.0.namespace", "DNS-1123"),
        ({"tenants": [tenant(channel="#financial-ml")]}, "tenants.0.channel", "not the #name"),
        ({"tenants": [tenant(audit_channel="#audit")]}, "tenants.0.audit_channel", "channel id"),
        ({"tenants": [tenant(approvers=["@bob"])]}, "tenants.0.approvers", "user group"),
        ({"tenants": [tenant(), tenant(channel="C0OTHER001")]}, "tenants", "listed twice: ['financial-ml']"),
        ({"tenants": [tenant(aprovers=["U0BOB00001"])]}, "tenants.0.aprovers", "Extra inputs are not permitted"),
        ({"tenants": [tenant()], "wokers": 4}, "wokers", "Extra inputs are not permitted"),
        ({"tenants": [tenant(digest={"cron": "0 9 * * *", "tz": "UTC"})]}, "tenants.0.digest.tz", "Extra inputs"),
        ({"tenants": []}, "tenants", "at least 1"),
        ({"tenants": [tenant()], "proposal_ttl_minutes": 0}, "proposal_ttl_minutes", "greater than or equal"),
    ],
    ids=[
        "bad-namespace",
        "channel-name",
        "audit-channel-name",
        "bad-approver",
        "duplicate-tenant",
        "unknown-tenant-field",
        "unknown-top-field",
        "unknown-digest-field",
        "no-tenants",
        "ttl-zero",
    ],
)
def test_config_errors_name_the_file_and_the_field(tmp_path: Path, data: dict, field: str, says: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"config {path}: field {field}: "), message
    assert says in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError, match=rf"config {path}: no such file"):
        load_config(path)


def test_bad_yaml_is_named_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "tenants:\n  - namespace: financial-ml\n    channel: [C0FINANCE1\n")
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"config {path}: invalid YAML")
    assert "line" in str(caught.value)


@pytest.mark.parametrize("text", ["", "- financial-ml\n", "just a string\n"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError, match=r"config .*config\.yaml: field \(top level\): "):
        load_config(write(tmp_path, text))


def test_the_model_validates_the_same_way_without_a_file() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        BotConfig.model_validate({"tenants": [tenant(), tenant()]})


# -- secrets ---------------------------------------------------------------------------------------


def test_tokens_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api/")
    secrets = Secrets()
    assert secrets.slack_bot_token is not None and secrets.slack_bot_token.get_secret_value() == TOKEN
    assert secrets.slack_api_url == "http://127.0.0.1:9999/api/"
    secrets.require("http")  # bot token and signing secret: enough for HTTP mode


def test_default_api_url_is_slack() -> None:
    assert Secrets().slack_api_url == "https://slack.com/api/"


def test_tokens_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bot-token").write_text(TOKEN + "\n", encoding="utf-8")  # Secret mounts end in a newline
    (tmp_path / "app-token").write_text(APP_TOKEN, encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "bot-token"))
    monkeypatch.setenv("SLACK_APP_TOKEN_FILE", str(tmp_path / "app-token"))
    secrets = Secrets()
    assert secrets.slack_bot_token is not None and secrets.slack_bot_token.get_secret_value() == TOKEN
    assert secrets.slack_app_token is not None and secrets.slack_app_token.get_secret_value() == APP_TOKEN
    secrets.require("socket")


def test_the_environment_wins_over_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bot-token").write_text("xoxb-from-the-file", encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "bot-token"))
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    assert Secrets().slack_bot_token.get_secret_value() == TOKEN


def test_an_unreadable_token_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "not-mounted"
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(missing))
    with pytest.raises(InputError) as caught:
        Secrets()
    assert f"SLACK_BOT_TOKEN_FILE={missing}" in str(caught.value)


@pytest.mark.parametrize(
    ("mode", "present", "missing"),
    [
        ("socket", {"SLACK_BOT_TOKEN": TOKEN}, "SLACK_APP_TOKEN"),
        ("socket", {"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_BOT_TOKEN"),
        ("http", {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_require_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, mode: str, present: dict[str, str], missing: str
) -> None:
    for name, value in present.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as caught:
        Secrets().require(mode)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"{mode} mode needs ") and missing in message and f"{missing}_FILE" in message
    for value in present.values():
        assert value not in message


def test_tokens_never_show_in_repr_or_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "signing").write_text(SIGNING, encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "signing"))
    monkeypatch.setenv("SELDON_CHATOPS_DATABASE_URL", "postgresql://bot:hunter2pw@db/chatops")
    secrets = Secrets()
    shown = [repr(secrets), str(secrets), secrets.model_dump_json(), repr(secrets.model_dump())]
    shown += [repr(secrets.slack_bot_token), str(secrets.slack_bot_token), f"{secrets.slack_app_token}"]
    for text in shown:
        for secret in (TOKEN, APP_TOKEN, SIGNING, "hunter2pw"):
            assert secret not in text, (secret, text)
    assert "**********" in repr(secrets)
