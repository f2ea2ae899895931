"""A task's form as HTML fields, and a posted HTML form back as the data its JSON Schema checks.

The forms of workflows/forms are JSON Schemas (draft 2020-12) of flat objects: strings (free
text, a choice from an `enum` titled by `x-enumTitles`, a `date` or `date-time`), integers and
numbers, booleans, lists of strings or numbers and lists of small objects. Each becomes inputs named by the same
dotted path the engine names a field's errors with (`co_agencies.1`, `follow_up_items.0.item`),
so the server's errors are shown at the field they concern. Pages work without JavaScript.

Reading a posted form changes nothing of its meaning: an empty input is a field not given, a
number that is not one stays the text typed (the schema then says so at the field), and a local
date and time is given the city's UTC offset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

#: Strings longer than this are typed in a text area rather than a one-line input.
LONG_TEXT = 200

#: Blank rows offered under a list of objects, for adding items without JavaScript.
BLANK_ROWS = 2


@dataclass
class Field:
    """One input (or group of inputs) of a form, with its value and the server's errors."""

    name: str
    title: str
    kind: str  # text, textarea, select, integer, checkbox, date, datetime, lines, rows
    required: bool = False
    description: str | None = None
    value: object = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    max_length: int | None = None
    columns: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    #: The choice that makes the field needed (`draft_action=submit_reply request_extension`): a page's
    #: script shows it only then; None: always shown.
    needed_when: str | None = None

    @property
    def input_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _kind(schema: dict) -> str:
    kind = schema.get("type")
    if kind == "string":
        if "enum" in schema:
            return "select"
        fmt = schema.get("format")
        if fmt == "date-time":
            return "datetime"
        if fmt == "date":
            return "date"
        return "textarea" if (schema.get("maxLength") or 0) > LONG_TEXT else "text"
    if kind == "integer" or kind == "number":
        return "integer"
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        items = schema.get("items") or {}
        return "rows" if items.get("type") == "object" else "lines"
    return "text"


def _conditions(schema: dict) -> dict[str, str]:
    """Fields the schema requires only for some choices (allOf of if {choice: const or enum} then
    {required}), as `choice=value value...` by field name."""
    needed: dict[str, tuple[str, list]] = {}
    for rule in schema.get("allOf") or []:
        condition = ((rule.get("if") or {}).get("properties") or {})
        if len(condition) != 1:
            continue
        (choice, test), = condition.items()
        values = [test["const"]] if "const" in test else list(test.get("enum") or [])
        for name in (rule.get("then") or {}).get("required") or []:
            if name in needed and needed[name][0] != choice:
                needed[name] = (choice, [])  # needed for choices of two fields: always shown
            else:
                needed.setdefault(name, (choice, []))[1].extend(values)
    return {name: f"{choice}={' '.join(map(str, values))}" for name, (choice, values) in needed.items() if values}


def _shown(value, kind: str, zone: ZoneInfo) -> object:
    """A stored value as its input shows it."""
    if value is None:
        return "" if kind != "checkbox" else False
    if kind == "checkbox":
        return bool(value)
    if kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind == "datetime" and isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return value
        if at.tzinfo is not None:
            at = at.astimezone(zone)
        return at.strftime("%Y-%m-%dT%H:%M")
    return value if isinstance(value, str) else str(value)


def fields_of(schema: dict | None, values: dict | None, errors: dict | None, zone: ZoneInfo,
              prefix: str = "") -> list[Field]:
    """The fields of an object schema, filled with `values`, each with its errors from `errors`
    (field path -> messages, as the engine reports them)."""
    if not schema:
        return []
    values, errors = values or {}, errors or {}
    required = set(schema.get("required") or [])
    conditional = _conditions(schema)
    made = []
    for name, sub in (schema.get("properties") or {}).items():
        path, kind = prefix + name, _kind(sub)
        made_field = Field(name=path, title=sub.get("title") or name, kind=kind, required=name in required,
                           description=sub.get("description"), max_length=sub.get("maxLength"),
                           errors=list(errors.get(path, ())), needed_when=conditional.get(name))
        value = values.get(name)
        if kind == "select":
            titles = sub.get("x-enumTitles") or []
            made_field.options = [(str(v), titles[i] if i < len(titles) else str(v)) for i, v in enumerate(sub["enum"])]
        if kind == "lines":
            made_field.max_length = (sub.get("items") or {}).get("maxLength")
            made_field.errors += [f"{_ordinal(key, path)}: {m}" for key, ms in errors.items()
                                  if key.startswith(path + ".") for m in ms]
        if kind == "rows":
            item = sub.get("items") or {}
            made_field.columns = fields_of(item, {}, {}, zone, prefix=f"{path}.#.")
            present = value if isinstance(value, list) else []
            for index, row in enumerate(present + [{}] * BLANK_ROWS):
                made_field.rows.append(fields_of(item, row if isinstance(row, dict) else {}, errors, zone,
                                                 prefix=f"{path}.{index}."))
        else:
            made_field.value = _shown(value, kind, zone)
        made.append(made_field)
    return made


def unplaced(fields: list[Field], errors: dict | None) -> list[str]:
    """The errors no field shows (a field the form does not have, or the form as a whole)."""
    placed = set()

    def walk(fs):
        for f in fs:
            placed.add(f.name)
            if f.kind == "lines":
                placed.update(key for key in (errors or {}) if key.startswith(f.name + "."))
            for row in f.rows:
                walk(row)
    walk(fields)
    return [f"{key}: {m}" if key else m for key, ms in (errors or {}).items() if key not in placed for m in ms]


def _ordinal(key: str, path: str) -> str:
    rest = key[len(path) + 1:]
    return f"#{int(rest) + 1}" if rest.isdigit() else rest


def data_from(schema: dict | None, form, zone: ZoneInfo) -> dict:
    """The data a posted form (a MultiDict) gives for an object schema."""
    return _object(schema or {}, form, zone, prefix="")


def _object(schema: dict, form, zone: ZoneInfo, prefix: str) -> dict:
    data = {}
    for name, sub in (schema.get("properties") or {}).items():
        path, kind = prefix + name, _kind(sub)
        if kind == "rows":
            rows = _rows(sub.get("items") or {}, form, zone, path)
            if rows:
                data[name] = rows
            continue
        if kind == "checkbox":
            data[name] = form.get(path) == "on"
            continue
        raw = form.get(path)
        if raw is None or raw.strip() == "":
            continue
        if kind == "integer":
            data[name] = _number(raw) if sub.get("type") == "number" else _integer(raw)
        elif kind == "lines":
            lines = [line.strip() for line in raw.splitlines() if line.strip()]
            if lines:
                numbers = (sub.get("items") or {}).get("type") == "number"  # a plan's percentages, one a line
                data[name] = [_number(line) for line in lines] if numbers else lines
        elif kind == "datetime":
            data[name] = _aware(raw.strip(), zone)
        else:
            data[name] = raw
    return data


def _rows(item: dict, form, zone: ZoneInfo, path: str) -> list[dict]:
    indexes = sorted({int(key[len(path) + 1:].split(".", 1)[0]) for key in form.keys()
                      if key.startswith(path + ".") and key[len(path) + 1:].split(".", 1)[0].isdigit()})
    rows = []
    for index in indexes:
        row = _object(item, form, zone, prefix=f"{path}.{index}.")
        if any(v not in (False, None, "") for v in row.values()):
            rows.append(row)
    return rows


def _integer(raw: str):
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        return text  # the schema names the field: not an integer


def _number(raw: str):
    """A number typed (45, 45.5), or the text as typed for the schema to name."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _aware(raw: str, zone: ZoneInfo) -> str:
    """A local date and time (as a datetime-local input sends it) with the city's offset."""
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the schema names the field: not a date and time
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return at.isoformat()
