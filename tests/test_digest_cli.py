"""`seldon-chatops digest NAMESPACE [--post]` against the fake API server (and the fake Slack to post)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from digest_support import seed_tenants
from fakekube import FakeKube
from fakeslack import FakeSlack

from bot.cli import main

CHANNEL = "C0FINANCE1"


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        seed_tenants(fake, "zero-capacity", ["financial-ml"])
        seed_tenants(fake, "healthy", ["retail-ml"])
        yield fake


@pytest.fixture
def kubeconfig(kube: FakeKube, tmp_path: Path) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


def test_prints_a_degraded_digest_and_exits_1(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "financial-ml", "--kubeconfig", str(kubeconfig)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("Seldon digest · financial-ml\n")
    assert "*Models* 1/3 Ready" in out and "zero memory capacity" in out
    assert "-&gt;" not in out  # entities are unescaped for the terminal
    assert "digest without history" in err  # no store yet: still a digest


def test_healthy_tenant_is_one_line_and_exits_0(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "retail-ml", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out.strip()
    assert out == ":white_check_mark: *retail-ml* is healthy: 1 Server, 3/3 Models Ready · first digest"


def test_json_output_is_the_slack_payload(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["digest", "financial-ml", "--kubeconfig", str(kubeconfig), "--output", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["text"].startswith("Seldon digest for financial-ml") and payload["blocks"][0]["type"] == "header"


def test_post_sends_it_to_the_tenants_channel(
    kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"tenants": [{"namespace": "financial-ml", "channel": CHANNEL}]}))
    with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "financial-ml")
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        args = ["digest", "financial-ml", "--kubeconfig", str(kubeconfig), "--config", str(config), "--post"]
        assert main(args) == 1
        [message] = slack.messages(CHANNEL)
        assert "Seldon digest" in json.dumps(message.blocks)
    assert f"posted the digest of financial-ml to {CHANNEL}" in capsys.readouterr().out


def test_post_without_a_tenant_or_a_token_is_a_usage_error(
    kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"tenants": [{"namespace": "retail-ml", "channel": "C0RETAIL01"}]}))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    base = ["digest", "financial-ml", "--kubeconfig", str(kubeconfig), "--config", str(config), "--post"]
    assert main(base) == 2
    assert "not a tenant in the config; give --channel" in capsys.readouterr().err
    assert main([*base, "--channel", "C0ANY00001"]) == 2
    assert "--post needs SLACK_BOT_TOKEN" in capsys.readouterr().err
    assert main(["digest", "Not_A_Namespace"]) == 2
