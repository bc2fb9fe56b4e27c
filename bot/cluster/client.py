"""Build a Kubernetes ApiClient from a kubeconfig (and context) or the in-cluster service account."""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from bot.errors import InputError

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def api_client(
    kubeconfig: str | Path | None = None, context: str | None = None, *, pool_size: int = 8
) -> tuple[client.ApiClient, str]:
    """(client, description of where it points). A missing or broken kubeconfig is an InputError."""
    configuration = client.Configuration()
    try:
        if kubeconfig is None and context is None and "KUBECONFIG" not in os.environ and SERVICE_ACCOUNT_TOKEN.exists():
            config.load_incluster_config(client_configuration=configuration)
            where = "in-cluster"
        else:
            path = str(kubeconfig) if kubeconfig else None
            config.load_kube_config(config_file=path, context=context, client_configuration=configuration)
            where = (
                f"context {context}"
                if context
                else f"kubeconfig {path or os.environ.get('KUBECONFIG', '~/.kube/config')}"
            )
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise InputError(f"cannot load Kubernetes credentials: {exc}") from exc
    # One connection per concurrent LIST; the default pool of 4 would serialise them.
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration), where
