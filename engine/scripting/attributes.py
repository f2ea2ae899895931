"""``_getattr_``: what attribute access a script gets.

Attributes of plain data values (str, numbers, list, dict, datetime...) other than
``_`` names and a few blocked ones; a short allowlist on the helper classes
(``datetime.now``...); ``args`` of exceptions; nothing on anything else (functions,
generators, frames, code, modules, types). Methods that can blow a value up
(``ljust``, ``replace``, ``join``, ``to_bytes``, ``extend``...) come back size-guarded.
"""
from __future__ import annotations

import codecs
from datetime import date, datetime, timedelta, timezone

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from engine.clock import ClockedDatetime, local_zone

from .budget import MAX_FORMAT_LENGTH, MAX_INT_BITS, MAX_ITEMS, charge, check_items, refuse, ticked_if_many
from .guards import ALLOWED_CODECS, checked_source

BLOCKED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES) | {
    "format", "format_map", "mro", "func_globals", "func_code", "func_closure", "func_defaults",
    "im_func", "im_self", "im_class", "gi_frame", "gi_code", "cr_frame", "ag_frame", "f_back",
    "f_builtins", "f_globals", "f_locals", "tb_frame", "tb_next", "co_code",
    "utcnow", "utcfromtimestamp",  # the system's time, not the step's clock (and naive)
    "timetuple", "utctimetuple",  # a time.struct_time, which scripts cannot store (and C imports `time` for it)
}
_VALUE_TYPES = frozenset({str, bytes, bool, int, float, complex, list, tuple, dict, set, frozenset,
                          range, datetime, date, timedelta, timezone})
_CLASS_ATTRIBUTES = {
    datetime: frozenset({"now", "today", "fromisoformat", "strptime", "combine", "fromtimestamp",
                         "min", "max", "resolution"}),
    date: frozenset({"today", "fromisoformat", "fromordinal", "fromtimestamp", "min", "max", "resolution"}),
    timedelta: frozenset({"min", "max", "resolution"}),
    timezone: frozenset({"utc", "min", "max"}),
}
#: "Now" in a script is the clock of the step being run (drills, tests), like the timers, and
#: "today" a date in the city's zone (settings.timezone, that of the step's unit of work).
_CLOCKED = {
    datetime: {"now": ClockedDatetime.now,
               "today": lambda: ClockedDatetime.now(local_zone()).replace(tzinfo=None)},
    date: {"today": lambda: ClockedDatetime.now(local_zone()).date()},
}
_MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
                       "popitem", "sort", "reverse", "add", "discard", "difference_update",
                       "intersection_update", "symmetric_difference_update"})


def _guard_width(obj, method):
    def guarded(width, *args):
        if isinstance(width, int):
            check_items(width, f"{method.__name__}()")
            charge(max(width, 0))
        return method(width, *args)
    return guarded


def _guard_expandtabs(obj, method):
    def guarded(tabsize=8):
        if isinstance(tabsize, int) and tabsize > 0:
            tabs = obj.count("\t" if isinstance(obj, str) else b"\t")
            check_items(len(obj) + tabs * tabsize, "expandtabs()")
        return method(tabsize)
    return guarded


def _guard_replace(obj, method):
    def guarded(old, new, count=-1):
        if type(old) is type(obj) and type(new) is type(obj) and isinstance(count, int):
            times = obj.count(old) if old else len(obj) + 1
            if count >= 0:
                times = min(times, count)
            size = len(obj) + times * (len(new) - len(old))
            check_items(size, "replace()")
            charge(max(size, 0))
        return method(old, new, count)
    return guarded


def _guard_join(separator, method):
    def guarded(iterable):
        items = checked_source(iterable, "join()")
        total = len(separator) * max(len(items) - 1, 0)
        for item in items:
            if isinstance(item, (str, bytes)):
                total += len(item)
                if total > MAX_ITEMS:
                    refuse(f"join() would make more than {MAX_ITEMS:,} characters")
        charge(total)
        return method(items)
    return guarded


def _guard_translate(obj, method):
    def guarded(table, *args):
        if isinstance(obj, str):
            if not isinstance(table, dict):
                raise TypeError("translate() in scripts takes a dict, as text.maketrans() makes")
            longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
            check_items(len(obj) * max(longest, 1), "translate()")
        return method(table, *args)
    return guarded


def _guard_to_bytes(obj, method):
    def guarded(length=1, *args, **kwargs):
        if isinstance(length, int):
            check_items(length, "to_bytes()")
        return method(length, *args, **kwargs)
    return guarded


def _guard_extend(obj, method):
    def guarded(iterable):
        items = checked_source(iterable, "extend()")
        check_items(len(obj) + len(items), "extend()")
        return method(items)
    return guarded


def _guard_from_bytes(obj, method):
    def guarded(data, *args, **kwargs):
        data = checked_source(data, "from_bytes()")
        if len(data) * 8 > MAX_INT_BITS:
            refuse(f"from_bytes() would make an int of more than {MAX_INT_BITS:,} bits")
        return method(data, *args, **kwargs)
    return guarded


def _guard_codec(obj, method):
    def guarded(encoding="utf-8", errors="strict"):
        if codecs.lookup(encoding).name not in ALLOWED_CODECS:
            raise LookupError(f"the {encoding!r} codec is not available in scripts")
        return method(encoding, errors)
    return guarded


def _check_time_format(text, what: str) -> None:
    # strftime pads to any width a directive asks for (%1000000Y), up to 256 x the format.
    if isinstance(text, str) and len(text) > MAX_FORMAT_LENGTH:
        refuse(f"{what} longer than {MAX_FORMAT_LENGTH:,} characters")


def _guard_strftime(obj, method):
    def guarded(fmt):
        _check_time_format(fmt, "strftime() with a format")
        text = method(fmt)
        charge(len(text))
        return text
    return guarded


def _guard_strptime(method):
    def guarded(text, fmt):
        _check_time_format(fmt, "strptime() with a format")
        _check_time_format(text, "strptime() of a text")
        return method(text, fmt)
    return guarded


def _guard_fromkeys(obj, method):
    def guarded(iterable, value=None):
        return method(ticked_if_many(checked_source(iterable, "dict.fromkeys()")), value)
    return guarded


_TEXT = (str, bytes)
_METHOD_GUARDS = {
    "ljust": (_TEXT, _guard_width), "rjust": (_TEXT, _guard_width), "center": (_TEXT, _guard_width),
    "zfill": (_TEXT, _guard_width), "expandtabs": (_TEXT, _guard_expandtabs),
    "replace": (_TEXT, _guard_replace), "join": (_TEXT, _guard_join),
    "translate": (_TEXT, _guard_translate), "to_bytes": ((int, bool), _guard_to_bytes),
    "extend": ((list,), _guard_extend), "from_bytes": ((int, bool), _guard_from_bytes),
    "encode": ((str,), _guard_codec), "decode": ((bytes,), _guard_codec),
    "strftime": ((datetime, date), _guard_strftime),
    "strptime": ((datetime,), lambda obj, method: _guard_strptime(method)),
    "fromkeys": ((dict,), _guard_fromkeys),
}


def make_getattr(read_only: bool):
    """``_getattr_``: plain data types only, no ``_`` names; ``read_only`` for expressions."""

    def guarded_getattr(obj, name):
        if type(name) is not str or name.startswith("_") or name in BLOCKED_ATTRIBUTES:
            raise AttributeError(f"attribute {name!r} is not available in scripts")
        kind = type(obj)
        if name in _CLOCKED.get(kind, ()):  # datetime.min.now(): a class method reached through a value
            return _CLOCKED[kind][name]
        if kind in _VALUE_TYPES:
            if read_only and name in _MUTATORS and kind in (list, dict, set):
                raise AttributeError(f"expressions may not change data: {kind.__name__}.{name}() "
                                     "is only available in scripts")
            guard = _METHOD_GUARDS.get(name)
            if guard is not None and kind in guard[0]:
                return guard[1](obj, getattr(obj, name))
            return getattr(obj, name)
        if kind is type and name in _CLASS_ATTRIBUTES.get(obj, ()):
            if name in _CLOCKED.get(obj, {}):
                return _CLOCKED[obj][name]
            value = getattr(obj, name)
            return _guard_strptime(value) if name == "strptime" else value
        if name == "args" and isinstance(obj, BaseException):
            return obj.args
        raise AttributeError(f"attribute {name!r} of a {kind.__name__} is not available in scripts")

    return guarded_getattr
