"""A task form's JSON Schema, for a page that renders it before any work item exists (the 1999 console)."""
from __future__ import annotations

import copy

from engine.workflow import forms


def form_schema(uow, form_key: str) -> dict:
    """The form's schema (a copy); raises InvalidInput if there is no such form."""
    return copy.deepcopy(forms.load_form(form_key, uow.forms_dir).schema)
