"""The exceptions of the restore services, in one place.

``RestoreRunError`` (a ``ValueError``) carries a message meant for the person using the wizard:
it says what is wrong and what to do. ``RestoreRunRefused`` is raised when the policy says no;
``reasons`` lists every unmet condition.
"""

from __future__ import annotations


class RestoreRunError(ValueError):
    """A restore request that cannot be done as asked. ``str(error)`` is user-facing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RestoreRunRefused(RestoreRunError):
    """The policy refused the action; ``reasons`` are the admin-readable causes."""

    def __init__(self, reasons: list[str], *, action: str = "") -> None:
        self.reasons = list(reasons)
        self.action = action
        self.audited = False  # set once the refusal is in the audit trail (see refusals.py)
        super().__init__(" ".join(self.reasons) or "Not allowed.")
