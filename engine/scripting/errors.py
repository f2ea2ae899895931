"""Exceptions of the restricted script engine.

They subclass SpiffWorkflow's ``WorkflowException``, so SpiffWorkflow passes them through
unwrapped (adding the line number and a note), a failing script task goes to ERROR as
with any script error, and the runner can catch them by class. The engine sets ``task``.
"""
from __future__ import annotations

from SpiffWorkflow.exceptions import WorkflowException


class ScriptError(WorkflowException):
    """A script was refused, could not be compiled, or left data that cannot be stored."""

    def __init__(self, message: str):
        super().__init__(message)
        self.task = None
        self.line_number = None
        self.error_line = None

    def __str__(self):
        # SpiffWorkflowException appends ". " and its notes even when there are none.
        parts = [str(self.args[0]) if self.args else "", *self.notes]
        return ". ".join(part.rstrip(". ") for part in parts if part)


class ScriptLimitExceeded(ScriptError):
    """A script went over a size, memory or recursion limit."""


class ScriptTimeLimit(ScriptLimitExceeded):
    """A script ran past its time limit or its cap on loop iterations and calls."""


class Interrupt(BaseException):
    """Carries a limit error out of a script.

    Not an ``Exception``: a script's own ``except Exception`` must not swallow it. The
    environment turns it back into the ``ScriptLimitExceeded`` it carries.
    """

    def __init__(self, error: ScriptLimitExceeded):
        super().__init__(str(error))
        self.error = error
