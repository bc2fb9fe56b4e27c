# syntax=docker/dockerfile:1
# seldon-chatops: the Slack bot (`seldon-chatops serve`). Two stages: the build stage installs the
# package into a virtualenv; the final image copies only that virtualenv and the playbooks, so no
# pip cache, build backend or source tree ships. Neither stage compiles anything: every dependency
# (psycopg[binary], PyYAML, pydantic-core) installs from a wheel, and the slim base has no compiler.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
# The same install as the README's "Install in a cluster" (tests/test_deploy.py compares them).
RUN python3 -m venv /opt/seldon-chatops && /opt/seldon-chatops/bin/pip install --no-cache-dir .

FROM ${PYTHON_IMAGE}
# Same path in both stages: the virtualenv's scripts name /opt/seldon-chatops/bin/python.
COPY --from=build /opt/seldon-chatops /opt/seldon-chatops
COPY playbooks /opt/seldon-chatops/playbooks
# A fixed numeric uid (the Deployment's runAsUser) and no login shell; the root filesystem can be
# read-only: /tmp and the state directory are the only places written (emptyDirs in Kubernetes).
RUN groupadd --system --gid 10001 seldon \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin seldon \
    && mkdir -p /var/lib/seldon-chatops && chown 10001:10001 /var/lib/seldon-chatops
ENV PATH=/opt/seldon-chatops/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    SELDON_CHATOPS_PLAYBOOKS=/opt/seldon-chatops/playbooks \
    SELDON_CHATOPS_STATE_DIR=/var/lib/seldon-chatops \
    SELDON_CHATOPS_CONFIG=/etc/seldon-chatops/config/config.yaml \
    SELDON_CHATOPS_HEALTH_PORT=8080
USER 10001:10001
EXPOSE 8080
# /healthz: Socket Mode connected (or HTTP serving). Python, because the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]
ENTRYPOINT ["seldon-chatops"]
CMD ["serve", "--port", "8080", "--health-port", "8080"]
