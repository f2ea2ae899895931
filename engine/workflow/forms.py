"""User-task forms: JSON Schemas (draft 2020-12) in workflows/forms, and field-level validation.

A user task names its form with the `formJsonSchemaFilename` property; the work item keeps
it as `form_key`. Data completing the item is checked against that schema before the
workflow is touched, and every problem is reported at once, per field:

    InvalidInput(details={"fields": {"agency_code": ["required"], "co_agencies.1": [...]}})
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from engine.errors import InvalidDefinition, InvalidForm, InvalidInput
from engine.settings import PROJECT_ROOT

#: Where form schemas are read from; tests (and a deployment with its own folder) may replace it.
FORMS_DIR: Path = PROJECT_ROOT / "workflows" / "forms"

#: A form key is a plain file name: no folders, so a key can never point outside FORMS_DIR.
_FORM_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.json")

_FORMAT_CHECKER = FormatChecker()
_cache: dict[Path, tuple[int, Draft202012Validator]] = {}
_lock = threading.Lock()


@_FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    # jsonschema checks date-time only with an optional package; deadlines need an offset anyway.
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value).tzinfo is not None and "T" in value


def load_form(form_key: str, forms_dir: Path | None = None) -> Draft202012Validator:
    """The validator of a form, cached by file and modification time.

    Raises InvalidInput if no such form exists, InvalidDefinition if the file is not a
    valid JSON Schema.
    """
    if not isinstance(form_key, str) or not _FORM_KEY.fullmatch(form_key):
        raise InvalidInput(f"form {form_key!r} is not a form file name")
    path = (forms_dir or FORMS_DIR) / form_key
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise InvalidInput(f"form {form_key!r} does not exist") from None
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with _lock:
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except (ValueError, SchemaError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise InvalidDefinition(f"not a valid JSON Schema: {message}", file=f"forms/{form_key}") from None
        validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
        _cache[path] = (mtime, validator)
    return validator


def validate_form(form_key: str | None, data: dict, forms_dir: Path | None = None) -> None:
    """Check data against the form; no form key means nothing to check.

    Raises InvalidForm listing every invalid field in details["fields"].
    """
    if not form_key:
        return
    validator = load_form(form_key, forms_dir)
    fields: dict[str, list[str]] = {}
    for error in validator.iter_errors(data):
        for path, message in _describe(error):
            fields.setdefault(path, []).append(message)
    if fields:
        raise InvalidForm(f"the form {form_key} has {len(fields)} invalid field(s)",
                           details={"form": form_key, "fields": dict(sorted(fields.items()))})


def reported_answers(form_key: str | None, data: dict, forms_dir: Path | None = None) -> dict:
    """The answers of a (valid) form that its schema marks `"x-report": true`: kept in the case's
    history with the completion, for the reports (a satisfaction answer, a review's decision)."""
    if not form_key:
        return {}
    properties = load_form(form_key, forms_dir).schema.get("properties") or {}
    return {name: data[name] for name, field in properties.items()
            if isinstance(field, dict) and field.get("x-report") is True and name in data}


def _join(path, name=None) -> str:
    parts = [str(p) for p in path] + ([name] if name is not None else [])
    return ".".join(parts)


def _describe(error) -> list[tuple[str, str]]:
    """(field path, message) pairs for one jsonschema error; a missing or extra field is named itself."""
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance
                   and repr(name) in error.message]
        return [(_join(error.absolute_path, name), "required") for name in missing[:1]]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        return [(_join(error.absolute_path, name), "not a field of this form")
                for name in instance if name not in known]
    return [(_join(error.absolute_path), _message(kind, value, error))]


def _message(kind: str, value, error) -> str:
    if kind == "enum":
        return "must be one of: " + ", ".join(map(str, value))
    if kind == "const":
        return f"must be {value!r}"
    if kind == "type":
        return f"must be of type {value if isinstance(value, str) else ' or '.join(value)}"
    if kind == "maxLength":
        return f"at most {value} characters"
    if kind == "minLength":
        return "must not be empty" if value == 1 else f"at least {value} characters"
    if kind == "maxItems":
        return f"at most {value} items"
    if kind == "minItems":
        return f"at least {value} item{'s' if value != 1 else ''}"
    if kind == "uniqueItems":
        return "items must not repeat"
    if kind in ("minimum", "maximum"):
        return f"must be {'at least' if kind == 'minimum' else 'at most'} {value}"
    if kind == "pattern":
        return f"does not match the pattern {value}"
    if kind == "format":
        if value == "date-time":
            return "must be an ISO 8601 date and time with a time zone"
        return f"must be a valid {value}"
    return error.message
