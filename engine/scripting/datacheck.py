"""What a script may leave in task data: values SpiffWorkflow can store as JSON and restore.

SpiffWorkflow strips only callables from task data after a script; a generator, a set or
any other object stays and the next save fails with ``TypeError``, so the case could no
longer be stored. A dict key ``typename`` breaks SpiffWorkflow's restore, ints of more
than 4,300 digits break ``json.dumps``, and ``date`` has no converter in SPIFF_CONFIG.
"""
from __future__ import annotations

from datetime import datetime, timedelta

MAX_DEPTH = 100                # levels of nesting
MAX_VALUE_SIZE = 2_000_000     # characters/items in one top-level task data value
MAX_INT_BITS = 14_000          # below Python's 4,300-digit limit for int -> str

STORABLE_SCALARS = frozenset({type(None), bool, int, float, str, datetime, timedelta})


def _path(parts) -> str:
    """Rebuild ``[0]['key']`` from the linked (parent, key) pairs of the walk."""
    keys = []
    while parts is not None:
        parts, key = parts
        keys.append(f"[{key!r}]")
    return "".join(reversed(keys))


def find_unstorable(value, *, extra_types=(), allow_sets=False) -> tuple[str, str] | None:
    """The first part of ``value`` that cannot be stored, as (path, what), or None.

    ``path`` is relative to ``value`` (``""``, ``"[2]"``, ``"['a']"``); ``what`` names
    the problem (``"generator"``, ``"set"``, ``"dict with a 'typename' key ..."``).
    The walk is iterative (no recursion limit); containers of one plain type are checked
    at C speed, since this runs after every script.
    """
    scalars = STORABLE_SCALARS.union(extra_types) if extra_types else STORABLE_SCALARS
    containers = (list, tuple, set, frozenset) if allow_sets else (list, tuple)
    kind = type(value)
    if kind not in containers and kind is not dict:
        return _scalar_problem(value, kind, scalars, None)
    size = 0
    stack = [(value, None, 0)]
    while stack:
        item, parts, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return _path(parts), f"data nested more than {MAX_DEPTH} levels deep"
        size += len(item) + 1
        if type(item) is dict:
            if "typename" in item:
                return _path(parts), "dict with a 'typename' key (SpiffWorkflow cannot restore it)"
            key_kinds = set(map(type, item))
            if key_kinds - {str}:
                key_kind = next(iter(key_kinds - {str}))
                return _path(parts), f"dict with a key of type {key_kind.__name__} (task data keys must be text)"
            children = item.values()
        else:
            children = item
        kinds = set(map(type, children))
        if len(kinds) == 1 and kinds <= scalars:  # one plain type: no need to look at each
            (kind,) = kinds
            if kind is str:
                size += sum(map(len, children))
            if kind is not int or max(map(int.bit_length, children)) <= MAX_INT_BITS:
                if size > MAX_VALUE_SIZE:
                    return "", f"more than {MAX_VALUE_SIZE:,} characters or items of data"
                continue
        pairs = item.items() if type(item) is dict else enumerate(item)
        for key, child in pairs:
            kind = type(child)
            if kind is str:
                size += len(child)
            elif kind in containers or kind is dict:
                stack.append((child, (parts, key), depth + 1))
            elif kind in scalars and (kind is not int or child.bit_length() <= MAX_INT_BITS):
                continue
            else:
                problem = _scalar_problem(child, kind, scalars, (parts, key))
                if problem is not None:
                    return problem
        if size > MAX_VALUE_SIZE:
            return "", f"more than {MAX_VALUE_SIZE:,} characters or items of data"
    if size > MAX_VALUE_SIZE:
        return "", f"more than {MAX_VALUE_SIZE:,} characters or items of data"
    return None


def _scalar_problem(value, kind, scalars, parts) -> tuple[str, str] | None:
    if kind not in scalars:
        return _path(parts), kind.__name__
    if kind is int and value.bit_length() > MAX_INT_BITS:
        return _path(parts), "int with more than 4,300 digits"
    if kind is str and len(value) > MAX_VALUE_SIZE:
        return _path(parts), f"more than {MAX_VALUE_SIZE:,} characters of data"
    return None
