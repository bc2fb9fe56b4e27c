"""Shared pytest configuration: markers and the cluster targets of the contract tests."""

from __future__ import annotations

import pytest


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers",
        "cluster: runs against a real cluster when KUBECONFIG and SELDON_CHATOPS_TEST_NAMESPACE are set "
        "(read-only: it lists, reads logs and writes a bundle to a temporary directory)",
    )


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that default to the state directory (the audit store) write under a temporary one."""
    monkeypatch.setenv("SELDON_CHATOPS_STATE_DIR", str(tmp_path_factory.mktemp("state")))
