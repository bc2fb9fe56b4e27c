"""A faithful, stateful fake Kubernetes API server driven through the real `kubernetes` client.

See fake.FakeKube for the test-facing API and operator.FakeSeldonOperator for the controller hook.
"""

from .api import WriteEvent
from .authz import DEFAULT_USER
from .errors import ApiError
from .fake import FakeKube
from .operator import FakeSeldonOperator
from .server import RecordedRequest

__all__ = ["DEFAULT_USER", "ApiError", "FakeKube", "FakeSeldonOperator", "RecordedRequest", "WriteEvent"]
