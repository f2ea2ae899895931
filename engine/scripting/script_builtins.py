"""The builtins a script sees, and the globals the policy's code refers to.

No modules, no introspection (``getattr``, ``type``, ``vars``, ``globals``...), no I/O.
``str``, ``list``, ``dict``, ``tuple``, ``set``, ``sorted``, ``range``, ``pow``,
``round`` and ``sum`` are size-guarded stand-ins; ``isinstance`` accepts the stand-ins
and plain types only.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .attributes import make_getattr
from .budget import MAX_INT_TEXT, MAX_ITEMS, MAX_ROUND_DIGITS, charge, check_items, loop_tick, refuse, ticked_if_many
from .guards import (
    DiscardingPrinter,
    checked_source,
    guarded_add,
    guarded_apply,
    guarded_format,
    guarded_getitem,
    guarded_getiter,
    guarded_inplacevar,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_star,
    guarded_write,
    safe_pow,
    safe_str,
)


def safe_int(*args, **kwargs):
    # int('f' * 10**6, 16) would make a 4,000,000-bit int, and division of such ints is quadratic.
    if args and isinstance(args[0], (str, bytes)) and len(args[0]) > MAX_INT_TEXT:
        refuse(f"int() of more than {MAX_INT_TEXT:,} characters")
    return int(*args, **kwargs)


def safe_zip(*iterables, strict=False):
    # zip(*[x] * 10**6) makes each item a million-tuple: tick per item so limits apply.
    for item in zip(*iterables, strict=strict):
        loop_tick()
        yield item


def safe_enumerate(iterable, start=0):
    for item in enumerate(iterable, start):
        loop_tick()
        yield item


def safe_range(*args):
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:
        size = MAX_ITEMS + 1
    check_items(size, "range()")
    return result


def safe_list(iterable=()):
    return list(checked_source(iterable, "list()"))


def safe_tuple(iterable=()):
    return tuple(checked_source(iterable, "tuple()"))


def safe_set(iterable=()):
    return set(ticked_if_many(checked_source(iterable, "set()")))


def safe_max(*args, **kwargs):
    return max(*_ticked_args(args), **kwargs)


def safe_min(*args, **kwargs):
    return min(*_ticked_args(args), **kwargs)


def _ticked_args(args: tuple) -> tuple:
    if len(args) == 1 and hasattr(args[0], "__iter__"):  # max(items): over one iterable
        return (ticked_if_many(args[0]),)
    return args


def safe_sorted(iterable, /, *, key=None, reverse=False):
    return sorted(checked_source(iterable, "sorted()"), key=key, reverse=reverse)


def safe_dict(*args, **kwargs):
    if len(args) > 1:
        raise TypeError(f"dict expected at most 1 argument, got {len(args)}")
    if args:
        source = args[0]
        if not isinstance(source, dict):
            source = checked_source(source, "dict()")
        else:
            check_items(len(source), "dict()")
            charge(len(source))
        return dict(ticked_if_many(source.items() if isinstance(source, dict) else source), **kwargs)
    return dict(**kwargs)


def safe_sum(iterable, /, start=0):
    if not isinstance(start, (int, float, timedelta)):
        raise TypeError("sum() in scripts adds numbers or timedeltas; use ''.join() for text")
    return sum(iterable, start)


def safe_round(number, ndigits=None):
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        refuse(f"round() to more than {MAX_ROUND_DIGITS:,} digits")
    return round(number, ndigits)


SAFE_EXCEPTIONS = (ArithmeticError, AssertionError, AttributeError, Exception, IndexError, KeyError,
                   LookupError, NameError, NotImplementedError, OverflowError, RuntimeError, TypeError,
                   ValueError, ZeroDivisionError)

_ISINSTANCE_TYPES = {
    safe_str: str, safe_list: list, safe_tuple: tuple, safe_dict: dict, safe_set: set,
    safe_int: int, float: float, bool: bool, datetime: datetime, date: date, timedelta: timedelta,
    timezone: timezone, **{exc: exc for exc in SAFE_EXCEPTIONS},
}


def _plain_type(cls):
    try:
        return _ISINSTANCE_TYPES[cls]
    except (KeyError, TypeError):
        raise TypeError("isinstance() in scripts takes str, int, float, bool, list, dict, tuple, set, "
                        "datetime, date, timedelta or an exception class, or a tuple of them") from None


def safe_isinstance(obj, classinfo):
    if type(classinfo) is tuple:
        return isinstance(obj, tuple(_plain_type(cls) for cls in classinfo))
    return isinstance(obj, _plain_type(classinfo))


SCRIPT_BUILTINS = {
    "abs": abs, "all": all, "any": any, "bool": bool, "chr": chr, "divmod": divmod,
    "enumerate": safe_enumerate, "float": float, "int": safe_int, "isinstance": safe_isinstance, "len": len,
    "max": safe_max, "min": safe_min, "ord": ord, "pow": safe_pow, "range": safe_range, "round": safe_round,
    "sorted": safe_sorted, "str": safe_str, "sum": safe_sum, "list": safe_list, "dict": safe_dict,
    "tuple": safe_tuple, "set": safe_set, "zip": safe_zip,
    "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone,
    **{exc.__name__: exc for exc in SAFE_EXCEPTIONS},
}


def script_globals(read_only: bool) -> dict:
    """The guard names the policy's code refers to, plus the restricted builtins."""
    return {
        "__builtins__": SCRIPT_BUILTINS,
        "_getattr_": make_getattr(read_only),
        "_getitem_": guarded_getitem,
        "_getiter_": guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": guarded_write,
        "_inplacevar_": guarded_inplacevar,
        "_apply_": guarded_apply,
        "_print_": DiscardingPrinter,
        "_loop_tick_": loop_tick,
        "_except_all_": Exception,  # what a bare `except:` catches (policy.EXCEPT_ALL)
        "_pow_": guarded_pow,
        "_mul_": guarded_mul,
        "_lshift_": guarded_lshift,
        "_add_": guarded_add,
        "_mod_": guarded_mod,
        "_format_": guarded_format,
        "_star_": guarded_star,
    }
