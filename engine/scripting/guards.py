"""The guards the policy's code calls: operators, items, iteration, writes and text.

Sizes are checked *before* the work is done wherever the size of the result can be known
in advance (``10**10**10``, ``'a' * 10**10``, ``f"{x:>10000000000}"``...).
"""
from __future__ import annotations

import codecs
import itertools
import math
import operator
import re
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from datetime import date, datetime, timedelta, timezone

from .budget import MAX_FORMAT_LENGTH, MAX_INT_BITS, MAX_ITEMS, charge, check_items, loop_tick, refuse

_SEQUENCES = (str, bytes, list, tuple)
_SIZED = (str, bytes, list, tuple, dict, set, frozenset, range,
          type({}.keys()), type({}.values()), type({}.items()))


def guarded_pow(base, exponent):
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 1 and base not in (0, 1, -1):
        if exponent > MAX_INT_BITS or exponent * math.log2(abs(base)) > MAX_INT_BITS:
            refuse(f"** would make an int of more than {MAX_INT_BITS:,} bits")
    return base ** exponent


def safe_pow(base, exp, mod=None):
    if mod is None:
        return guarded_pow(base, exp)
    for number in (exp, mod):
        if isinstance(number, int) and number.bit_length() > MAX_INT_BITS:
            refuse(f"pow() with an int of more than {MAX_INT_BITS:,} bits")
    return pow(base, exp, mod)


def guarded_mul(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            refuse(f"* would make an int of more than {MAX_INT_BITS:,} bits")
        return a * b
    if isinstance(b, int) and isinstance(a, _SEQUENCES):
        return _repeat(a, b)
    if isinstance(a, int) and isinstance(b, _SEQUENCES):
        return _repeat(b, a)
    return a * b


def _repeat(sequence, times: int):
    size = len(sequence) * times if times > 0 else 0
    check_items(size, "repeating a sequence")
    charge(size)
    return sequence * times


def guarded_lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        if b > MAX_INT_BITS or a.bit_length() + b > MAX_INT_BITS:
            refuse(f"<< would make an int of more than {MAX_INT_BITS:,} bits")
    return a << b


def guarded_add(a, b):
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        size = len(a) + len(b)
        check_items(size, "joining two sequences with +")
        charge(size)
    return a + b


_PERCENT_SPEC = {str: re.compile(r"%[^a-zA-Z%]*"), bytes: re.compile(rb"%[^a-zA-Z%]*")}
_DIGITS = {str: re.compile(r"\d+"), bytes: re.compile(rb"\d+")}
_STAR = {str: "*", bytes: b"*"}


def _check_widths(spec, kind, what: str) -> None:
    for number in _DIGITS[kind].findall(spec):
        if len(number) > 7 or int(number) > MAX_ITEMS:
            refuse(f"{what} asks for a width or precision over the limit of {MAX_ITEMS:,}")


def guarded_mod(a, b):
    kind = type(a)
    if kind is str or kind is bytes:
        for spec in _PERCENT_SPEC[kind].findall(a):
            if _STAR[kind] in spec:
                refuse("'*' widths in % formatting are not allowed in scripts")
            _check_widths(spec, kind, "% formatting")
        if estimate_text_size(b, MAX_ITEMS) > MAX_ITEMS:
            refuse(f"% formatting would make more than {MAX_ITEMS:,} characters")
        result = a % b
        charge(len(result))
        return result
    return a % b


def guarded_format(value, conversion: int, spec: str):
    """One f-string field: ``f"{value!conversion:spec}"``."""
    if conversion == 115:
        value = safe_str(value)
    elif conversion == 114:
        value = bounded_text(repr, value)
    elif conversion == 97:
        value = bounded_text(ascii, value)
    if spec:
        if len(spec) > MAX_FORMAT_LENGTH:
            refuse(f"an f-string format longer than {MAX_FORMAT_LENGTH:,} characters")
        _check_widths(spec, str, "an f-string format")
        text = format(value, spec)
    else:
        text = value if type(value) is str else safe_str(value)
    charge(len(text))
    return text


# Text codecs a script may use; others (punycode is quadratic, for one) are refused.
ALLOWED_CODECS = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "ascii",
                            "iso8859-1", "cp1252", "big5", "cp950", "big5hkscs"})


def guarded_star(value):
    """``*value`` in a list, tuple, set or call."""
    return checked_source(value, "unpacking with *")


# ---------------------------------------------------------------- items, iteration, writes

def guarded_getitem(obj, key):
    if type(key) is slice:
        result = obj[key]
        if isinstance(result, _SIZED):
            charge(len(result))
        return result
    return obj[key]


def guarded_getiter(obj):
    return _ticking(iter(obj))


def _ticking(iterator):
    tick = loop_tick
    for item in iterator:
        tick()
        yield item


def bounded_list(iterable, what: str) -> list:
    items = list(itertools.islice(iterable, MAX_ITEMS + 1))
    check_items(len(items), what)
    charge(len(items))
    return items


def checked_source(iterable, what: str):
    """The iterable itself if its size is known and within limits, else a bounded list of it."""
    if isinstance(iterable, _SIZED):
        try:
            size = len(iterable)
        except OverflowError:
            size = MAX_ITEMS + 1
        check_items(size, what)
        charge(size)
        return iterable
    return bounded_list(iterable, what)


class _ListWriter:
    """What ``_write_`` hands out for a list: item writes pass, slice writes are size-checked."""

    __slots__ = ("_target",)

    def __init__(self, target: list):
        object.__setattr__(self, "_target", target)

    def __setitem__(self, key, value):
        target = self._target
        if type(key) is slice:
            value = checked_source(value, "slice assignment")
            removed = len(range(*key.indices(len(target))))
            check_items(len(target) - removed + len(value), "slice assignment")
        target[key] = value

    def __delitem__(self, key):
        del self._target[key]

    def __setattr__(self, name, value):
        raise TypeError("scripts may not set attributes")

    def __delattr__(self, name):
        raise TypeError("scripts may not delete attributes")


def guarded_write(obj):
    kind = type(obj)
    if kind is dict:
        return obj
    if kind is list:
        return _ListWriter(obj)
    raise TypeError(f"scripts may only assign items of dicts and lists, not of a {kind.__name__}")


def _iadd(x, y):
    if type(x) is list:
        items = checked_source(y, "+=")
        check_items(len(x) + len(items), "+=")
        x += items
        return x
    return guarded_add(x, y)


def _imul(x, y):
    if type(x) is list and isinstance(y, int):
        check_items(len(x) * y if y > 0 else 0, "*=")
        x *= y
        return x
    return guarded_mul(x, y)


_INPLACE = {
    "+=": _iadd, "-=": operator.isub, "*=": _imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": guarded_mod, "**=": guarded_pow, "<<=": guarded_lshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


def guarded_inplacevar(op: str, x, y):
    return _INPLACE[op](x, y)


def guarded_apply(function, *args, **kwargs):
    return function(*args, **kwargs)


class DiscardingPrinter:
    """``print`` in a script is accepted and its output dropped."""

    def __init__(self, _getattr_=None):
        pass

    def _call_print(self, *objects, **kwargs):
        pass

    def __call__(self):
        return ""


# ---------------------------------------------------------------- text

_FIXED_TEXT_SIZE = {type(None): 4, bool: 5, float: 24, complex: 50, datetime: 64, date: 32,
                    timedelta: 48, timezone: 48}


def estimate_text_size(obj, limit: int) -> int:
    """About how many characters ``str(obj)``/``repr(obj)`` makes; stops counting past ``limit``."""
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bytes:
            total += len(item) + 3
        elif kind is int:
            total += item.bit_length() // 3 + 2
        elif kind in _FIXED_TEXT_SIZE:
            total += _FIXED_TEXT_SIZE[kind]
        elif kind in (list, tuple, set, frozenset) or isinstance(item, (KeysView, ValuesView, ItemsView)):
            total += 2 + 2 * len(item)
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, BaseException):
            total += 40
            stack.extend(item.args)
        else:
            total += 80
        if total > limit:
            return total
    return total


_SCALARS = frozenset({str, int, float, bool, type(None), complex, datetime, date, timedelta})


def bounded_text(convert, obj) -> str:
    if type(obj) not in _SCALARS and estimate_text_size(obj, MAX_ITEMS) > MAX_ITEMS:
        refuse(f"converting a {type(obj).__name__} to text would make more than {MAX_ITEMS:,} characters")
    text = convert(obj)
    charge(len(text))
    return text


def safe_str(*args, **kwargs):
    if len(args) + len(kwargs) <= 1 and set(kwargs) <= {"object"}:
        obj = args[0] if args else kwargs.get("object", "")
        return obj if type(obj) is str else bounded_text(str, obj)
    # str(data, encoding[, errors]) decodes bytes: the allowed codecs only.
    encoding = args[1] if len(args) > 1 else kwargs.get("encoding", "utf-8")
    if codecs.lookup(encoding).name not in ALLOWED_CODECS:
        raise LookupError(f"the {encoding!r} codec is not available in scripts")
    text = str(*args, **kwargs)
    charge(len(text))
    return text
