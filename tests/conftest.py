"""Shared pytest configuration: markers and the cluster targets of the contract tests."""

from __future__ import annotations


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers",
        "cluster: runs against a real cluster when KUBECONFIG and SELDON_CHATOPS_TEST_NAMESPACE are set "
        "(read-only: it lists, reads logs and writes a bundle to a temporary directory)",
    )
