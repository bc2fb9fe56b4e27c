"""The agent's log messages the checks look for, per agent generation (docs/seldon-v2.md 1.2, 1.6, F4-F9).

They are also the index keys of TenantView.marked: a tenant's agent logs are scanned once for all
of them, instead of once per check.
"""

from __future__ import annotations

# Startup dependency lines: (>= 2.9.1, <= 2.9.0).
WAITING_INFERENCE = ("Waiting for Inference Server service to become ready", "Inference server not ready")
GAVE_UP_INFERENCE = (
    "Giving up on waiting for Inference Server service to become ready",
    "Failed to wait for inference server to be ready",
)
WAITING_RCLONE = ("Waiting for Model Repository (rclone) service to become ready", "Rclone not ready")
SCHEDULER_NOT_READY = "Scheduler not ready"
SUBSCRIBED = "Subscribed to scheduler"
ENDPOINTS_ERROR = "failed waiting to check if pod's IP is published to endpoints"
LOAD_MODEL = "Load model"
# Lines that prove the agent got past its startup dependencies (info level: absent at `warn`).
STARTED = ("All critical agent subservices ready", SUBSCRIBED, LOAD_MODEL)
# Always printed (logrus' standard logger), whatever SELDON_LOG_LEVEL says.
MEMORY_REQUEST = "Setting memory request from env MEMORY_REQUEST with value"
# F9: the control loop stopped and the readiness target was cleared.
STREAM_SHUT = "Shutting down stream to scheduler"
TARGET_NOT_SET = "target not set"

MARKERS: tuple[str, ...] = (
    *WAITING_INFERENCE,
    *GAVE_UP_INFERENCE,
    *WAITING_RCLONE,
    SCHEDULER_NOT_READY,
    ENDPOINTS_ERROR,
    *STARTED,
    MEMORY_REQUEST,
    STREAM_SHUT,
    TARGET_NOT_SET,
)
