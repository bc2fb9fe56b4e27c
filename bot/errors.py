"""Errors the user caused and can fix: the CLI prints them and exits 2, Slack replies with them."""


class InputError(Exception):
    """Bad input: a namespace name, a bundle, a playbook, a patch file. Nothing was changed."""


class BundleError(InputError):
    """A support bundle is missing, corrupt or incomplete. The message names the file."""


class PlaybookError(InputError):
    """A playbook does not load: unknown name, bad YAML, a field that fails validation."""


class ClusterError(Exception):
    """The Kubernetes API could not be used at all (unreachable, credentials rejected)."""
