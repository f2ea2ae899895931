"""What a script may leave in task data: values SpiffWorkflow can store as JSON and restore.

SpiffWorkflow strips only callables from task data after a script; a generator, a set or
any other object stays and the next save fails with ``TypeError``, so the case could no
longer be stored. A dict key ``typename`` breaks SpiffWorkflow's restore (a variable of that
name too: task data is itself a dict it restores), ints of more than 4,300 digits break
``json.dumps``, ``date`` has no converter in SPIFF_CONFIG, and a lone surrogate
(``chr(0xd800)``) cannot be encoded for the database.

Sizes count every occurrence: a value referenced a thousand times is stored a thousand
times. An ``Allowance`` shared by the checks of all of a task's data bounds the whole, and
with it the time the check takes.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_DEPTH = 100                # levels of nesting
MAX_VALUE_SIZE = 2_000_000     # characters/items in one top-level task data value
MAX_DATA_SIZE = 5_000_000      # characters/items in all of a task's data together
MAX_INT_BITS = 14_000          # below Python's 4,300-digit limit for int -> str

#: Keys SpiffWorkflow 3.2's serializer reserves: DictionaryConverter.restore takes any dict
#: holding one for a serialized object (a datetime, a Task, the workflow itself) and hands it
#: to that type's from_dict, which fails or returns something else. Task data, its deltas and
#: the workflow's data are such dicts, so no variable may have one of these names either.
RESERVED_NAMES = frozenset({"typename"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_UTF8 = "text with a lone surrogate character (cannot be stored as UTF-8)"


class Allowance:
    """Characters/items the checks of one task's data may still count, all keys together."""

    __slots__ = ("left",)

    def __init__(self, size: int = MAX_DATA_SIZE):
        self.left = size


def has_lone_surrogate(text: str) -> bool:
    """True if the text holds a lone surrogate, which no database can store as UTF-8."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _bad_text(texts) -> bool:
    """True if any of the strings holds a lone surrogate (one C-speed pass over all of them)."""
    return has_lone_surrogate("".join(texts))


STORABLE_SCALARS = frozenset({type(None), bool, int, float, str, datetime, timedelta})


def _path(parts) -> str:
    """Rebuild ``[0]['key']`` from the linked (parent, key) pairs of the walk."""
    keys = []
    while parts is not None:
        parts, key = parts
        keys.append(f"[{key!r}]")
    return "".join(reversed(keys))


def find_unstorable(value, *, extra_types=(), allow_sets=False,
                    allowance: Allowance | None = None) -> tuple[str, str] | None:
    """The first part of ``value`` that cannot be stored, as (path, what), or None.

    ``path`` is relative to ``value`` (``""``, ``"[2]"``, ``"['a']"``); ``what`` names
    the problem (``"generator"``, ``"set"``, ``"dict with a 'typename' key ..."``).
    The walk is iterative (no recursion limit); containers of one plain type are checked
    at C speed, since this runs after every script. With an ``allowance``, what the value
    counts is taken from it, and a value that needs more than is left is refused.
    """
    scalars = STORABLE_SCALARS.union(extra_types) if extra_types else STORABLE_SCALARS
    containers = (list, tuple, set, frozenset) if allow_sets else (list, tuple)
    limit, too_big = MAX_VALUE_SIZE, f"more than {MAX_VALUE_SIZE:,} characters or items of data"
    if allowance is not None and allowance.left < MAX_VALUE_SIZE:
        limit = allowance.left
        too_big = f"more than {MAX_DATA_SIZE:,} characters or items of task data in all"
    kind = type(value)
    if kind not in containers and kind is not dict:
        if kind is str and len(value) > limit:
            found = "", too_big
        else:
            found = _scalar_problem(value, kind, scalars, None) or (len(value) if kind is str else 0)
    elif limit <= 0:
        found = "", too_big
    else:
        found = _walk(value, scalars, containers, limit, too_big)
    if allowance is not None:
        if type(found) is int:
            allowance.left -= found
        elif found[1] == too_big and limit < MAX_VALUE_SIZE:
            allowance.left = 0  # over what was left: the values after it are refused at once
    return None if type(found) is int else found


def _walk(value, scalars, containers, limit: int, too_big: str) -> tuple[str, str] | int:
    """The first problem of a container value, or the size it counts."""
    size = 0
    stack = [(value, None, 0)]
    while stack:
        item, parts, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return _path(parts), f"data nested more than {MAX_DEPTH} levels deep"
        size += len(item) + 1
        if type(item) is dict:
            if not RESERVED_NAMES.isdisjoint(item):
                return _path(parts), "dict with a 'typename' key (SpiffWorkflow cannot restore it)"
            key_kinds = set(map(type, item))
            if key_kinds - {str}:
                key_kind = next(iter(key_kinds - {str}))
                return _path(parts), f"dict with a key of type {key_kind.__name__} (task data keys must be text)"
            if _bad_text(item):
                return _path(parts), f"dict with a key holding {_NOT_UTF8}"
            size += sum(map(len, item))
            children = item.values()
        else:
            children = item
        kinds = set(map(type, children))
        if len(kinds) == 1 and kinds <= scalars:  # one plain type: no need to look at each
            (kind,) = kinds
            if kind is str:
                size += sum(map(len, children))
                if size > limit:
                    return "", too_big
                if not _bad_text(children):
                    continue
                pairs = item.items() if type(item) is dict else enumerate(item)
                return next(_path((parts, key)) for key, child in pairs if has_lone_surrogate(child)), _NOT_UTF8
            if kind is not int or max(map(int.bit_length, children)) <= MAX_INT_BITS:
                if size > limit:
                    return "", too_big
                continue
        pairs = item.items() if type(item) is dict else enumerate(item)
        for key, child in pairs:
            kind = type(child)
            if kind is str:
                size += len(child)
                if has_lone_surrogate(child):
                    return _path((parts, key)), _NOT_UTF8
            elif kind in containers or kind is dict:
                stack.append((child, (parts, key), depth + 1))
            elif kind in scalars and (kind is not int or child.bit_length() <= MAX_INT_BITS):
                continue
            else:
                problem = _scalar_problem(child, kind, scalars, (parts, key))
                if problem is not None:
                    return problem
        if size > limit:
            return "", too_big
    if size > limit:
        return "", too_big
    return size


def _scalar_problem(value, kind, scalars, parts) -> tuple[str, str] | None:
    if kind not in scalars:
        return _path(parts), kind.__name__
    if kind is int and value.bit_length() > MAX_INT_BITS:
        return _path(parts), "int with more than 4,300 digits"
    if kind is str:
        if len(value) > MAX_VALUE_SIZE:
            return _path(parts), f"more than {MAX_VALUE_SIZE:,} characters of data"
        if has_lone_surrogate(value):
            return _path(parts), _NOT_UTF8
    return None
