"""Operations: Prometheus metrics, structured logs without secrets, health and readiness endpoints.

`metrics` holds the series; `instrument` and `bolt` wrap the Kubernetes and Slack clients, the checks
and the thread pools at start-up (nothing else in the bot imports this package); `logging` formats and
scrubs log lines; `health` answers the kubelet and Prometheus.
"""
