"""Bad input gets a clear error naming what is wrong, and exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.cluster.bundle import load_bundle, write_bundle
from bot.errors import BundleError, PlaybookError
from bot.playbooks import available, load_playbook

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ZERO = EXAMPLES / "zero-capacity"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(ZERO, target)
    return target


@pytest.mark.parametrize("name", ["Financial-ML", "financial_ml", "ml-", "a" * 64, "", "fin/ml", "../etc"])
def test_bad_namespace_names_exit_2_before_reading_anything(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", name, "--bundle", "/nonexistent"]) == 2
    assert "DNS-1123" in capsys.readouterr().err


def test_option_like_namespace_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "-ml", "--bundle", str(ZERO)]) == 2
    assert "usage: seldon-chatops diagnose" in capsys.readouterr().err


def test_missing_bundle_names_the_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "financial-ml", "--bundle", "/nonexistent/bundle"]) == 2
    assert "/nonexistent/bundle: no such directory" in capsys.readouterr().err


def test_bundle_for_another_namespace_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "retail-ml", "--bundle", str(ZERO)]) == 2
    assert "is for namespace 'financial-ml'" in capsys.readouterr().err


def test_missing_object_file_is_named(bundle: Path) -> None:
    (bundle / "objects" / "pods.yaml").unlink()
    with pytest.raises(BundleError, match=r"missing file objects/pods.yaml"):
        load_bundle(bundle)


def test_corrupt_yaml_is_named(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "objects" / "servers.yaml").write_text("- {name: [unclosed\n")
    assert main(["diagnose", "financial-ml", "--bundle", str(bundle)]) == 2
    assert "objects/servers.yaml is not valid YAML" in capsys.readouterr().err


def test_object_file_must_be_a_list_of_objects(bundle: Path) -> None:
    (bundle / "objects" / "models.yaml").write_text("kind: Model\n")
    with pytest.raises(BundleError, match=r"objects/models.yaml must be a YAML list"):
        load_bundle(bundle)
    (bundle / "objects" / "models.yaml").write_text("- {kind: Model}\n")
    with pytest.raises(BundleError, match=r"objects/models.yaml has an invalid object: field apiVersion"):
        load_bundle(bundle)


def test_manifest_problems_are_named(bundle: Path) -> None:
    manifest = yaml.safe_load((bundle / "manifest.yaml").read_text())
    (bundle / "manifest.yaml").write_text(yaml.safe_dump({**manifest, "format_version": 9}))
    with pytest.raises(BundleError, match="format_version 9"):
        load_bundle(bundle)
    (bundle / "manifest.yaml").write_text(yaml.safe_dump({**manifest, "kinds": ["secrets"]}))
    with pytest.raises(BundleError, match="unknown kind 'secrets'"):
        load_bundle(bundle)
    escaping = [{"pod": "x", "container": "agent", "file": "../../etc/passwd"}]
    (bundle / "manifest.yaml").write_text(yaml.safe_dump({**manifest, "logs": escaping}))
    with pytest.raises(BundleError, match=r"leaves the bundle"):
        load_bundle(bundle)
    (bundle / "manifest.yaml").unlink()
    with pytest.raises(BundleError, match=r"missing file manifest\.yaml"):
        load_bundle(bundle)


def test_round_trip_keeps_objects_and_logs(tmp_path: Path) -> None:
    snapshot = load_bundle(ZERO)
    again = load_bundle(write_bundle(snapshot, tmp_path / "copy"))
    assert again.objects.keys() == snapshot.objects.keys()
    assert [o.to_dict() for o in again.of("servers")] == [o.to_dict() for o in snapshot.of("servers")]
    assert [(lg.pod, lg.container, lg.previous, lg.lines) for lg in again.logs] == [
        (lg.pod, lg.container, lg.previous, lg.lines) for lg in snapshot.logs
    ]


def test_secret_values_never_leave_a_bundle(tmp_path: Path) -> None:
    snapshot = load_bundle(ZERO)
    pod = snapshot.of("pods")[0]
    pod.spec["containers"][0].setdefault("env", []).append({"name": "AWS_SECRET_ACCESS_KEY", "value": "hunter2"})
    snapshot.logs[0].lines.append('time="x" level=error msg="copy failed" error="password=hunter2"')
    written = write_bundle(snapshot, tmp_path / "b")
    text = "".join(p.read_text() for p in written.rglob("*") if p.is_file())
    assert "hunter2" not in text
    assert "<redacted>" in text


def test_playbooks_load_and_unknown_ones_are_refused() -> None:
    assert {"diagnose", "connectivity", "capacity"} <= set(available())
    for name in available():
        assert load_playbook(name).steps
    with pytest.raises(PlaybookError, match="unknown playbook 'nope'; available: capacity"):
        load_playbook("nope")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "name: broken\ntitle: t\nsteps:\n  - {id: a, title: t, intro: x, checks: [no.such-check]}\n",
            r"field steps.0.checks: .*unknown check\(s\) \['no.such-check'\]",
        ),
        (
            "name: broken\ntitle: t\nsteps:\n  - {id: a, title: t, intro: '{{ unclosed'}\n",
            r"field steps.0.intro: .*template does not compile",
        ),
        (
            "name: broken\ntitle: t\nsteps:\n  - {id: a, title: t, intro: x, colour: red}\n",
            r"field steps.0.colour: Extra inputs are not permitted",
        ),
        (
            "name: broken\ntitle: t\nsteps:\n  - {id: a, title: t, intro: x, connectivity: [agent-moon]}\n",
            r"unknown matrix path",
        ),
        ("name: broken\ntitle: t\nsteps: []\n", r"field steps: List should have at least 1 item"),
        ("name: [\n", r"invalid YAML"),
    ],
)
def test_broken_playbooks_name_file_and_field(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text(body)
    with pytest.raises(PlaybookError, match=message) as err:
        load_playbook("broken", tmp_path)
    assert str(tmp_path / "broken.yaml") in str(err.value)
    code = main(
        [
            "diagnose",
            "financial-ml",
            "--bundle",
            str(ZERO),
            "--playbook",
            "broken",
            "--playbooks-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "broken.yaml" in capsys.readouterr().err
