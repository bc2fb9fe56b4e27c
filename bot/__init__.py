"""seldon-chatops: diagnose Seldon Core v2 tenants from Slack or a terminal."""

__version__ = "0.1.0"
