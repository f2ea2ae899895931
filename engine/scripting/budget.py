"""Per-call limits of the script engine: the budget, the tick, and size refusals.

Each call of ``evaluate``/``execute`` runs under a ``Budget`` kept in a
``threading.local``: a deadline, a cap on ticks (loop iterations, items iterated and
function calls), a running total of characters/items built by guarded operations, and
an optional cap on the growth of the process's resident memory (Linux). A limit that
trips raises ``Interrupt`` (a ``BaseException`` the script cannot catch) and stays
tripped, so a ``finally`` block or a failing ``except`` clause cannot run on.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from time import monotonic

from .errors import Interrupt, ScriptError, ScriptLimitExceeded, ScriptTimeLimit

MAX_ITEMS = 1_000_000          # characters or items in one value made by *, +, %, join, pad, range...
MAX_INT_BITS = 10_000          # bits in an int made by **, *, <<
MAX_ALLOCATED = 50_000_000     # characters/items made by guarded operations in one call, in total
MAX_ROUND_DIGITS = 1_000
MAX_FORMAT_LENGTH = 1_000      # characters in a format spec or strftime/strptime format
MAX_INT_TEXT = 5_000           # characters of text int() converts
MEMORY_CHECK_INTERVAL = 0.005  # seconds between two looks at the resident memory (Linux)...
MEMORY_CHECK_CHARGE = 1_000_000  # ... or characters/items built by guarded operations


class Budget:
    """The limits of one evaluate/execute call and what it has used so far."""

    __slots__ = ("time_limit", "deadline", "ticks", "max_ticks", "allocated", "memory_limit",
                 "rss_base", "next_memory_check", "next_memory_charge", "tripped", "step_limit", "started")

    def __init__(self, time_limit: float | None, max_ticks: int, memory_limit: int | None):
        self.time_limit = time_limit
        self.started = monotonic()
        self.deadline = None if time_limit is None else self.started + time_limit
        self.step_limit = None  # the step's limit, when what the step has left comes first
        step = _state.step
        if step is not None:
            left = step.limit - step.spent
            if left <= 0:
                self.step_limit = step.limit
                raise self.time_error()
            if self.deadline is None or self.started + left < self.deadline:
                self.deadline, self.step_limit = self.started + left, step.limit
        self.ticks = 0
        self.max_ticks = max_ticks
        self.allocated = 0
        self.memory_limit = memory_limit
        self.rss_base = None
        self.next_memory_check = 0.0      # monotonic time of the next look at resident memory
        self.next_memory_charge = 0       # ... or once `allocated` reaches this
        self.tripped: ScriptLimitExceeded | None = None

    def trip(self, error: ScriptLimitExceeded):
        self.tripped = error
        raise Interrupt(error)

    def time_error(self) -> ScriptTimeLimit:
        if self.step_limit is not None:
            return ScriptTimeLimit(f"the step ran its scripts and expressions for longer than its time limit "
                                   f"of {self.step_limit:g} s in all")
        return ScriptTimeLimit(f"script ran longer than its time limit of {self.time_limit:g} s")

    def check_memory(self, now: float) -> None:
        """Compare resident memory with what it was at the first look of this call."""
        self.next_memory_check = now + MEMORY_CHECK_INTERVAL
        self.next_memory_charge = self.allocated + MEMORY_CHECK_CHARGE
        rss = resident_bytes()
        if rss is None:
            self.memory_limit = None
        elif self.rss_base is None:
            self.rss_base = rss
        elif rss - self.rss_base > self.memory_limit:
            self.trip(ScriptLimitExceeded(
                f"script used more than {self.memory_limit // 2**20} MB of memory (its memory limit)"))


#: Stack of each thread started after use_deep_stacks(): see there.
DEEP_STACK_BYTES = 1 << 30


def use_deep_stacks() -> None:
    """Give threads started from now on a 1 GiB stack (address space, used only as touched).

    CPython 3.11 hashes and compares nested tuples recursively in C without a depth check:
    a script that nests a tuple some 300,000 levels deep (a loop well within its limits) and
    puts it in a set overflows the default 8 MiB thread stack, and the whole process dies. The
    deepest value a script can build within its memory limit hashes within 1 GiB. Processes
    that run workflow steps (web, worker, embedded) call this before starting their threads.
    """
    threading.stack_size(DEEP_STACK_BYTES)


class _ThreadState(threading.local):
    budget: Budget | None = None
    step: "_StepTime | None" = None  # the step being run


class _StepTime:
    """The time a step's scripts and expressions may take together, and have taken so far."""

    __slots__ = ("limit", "spent")

    def __init__(self, limit: float):
        self.limit, self.spent = limit, 0.0


@contextmanager
def step_time_limit(seconds: float | None):
    """Bound the scripts and expressions of one workflow step together (a diagram loop of
    scripts runs many of them in one step, each under its own limit). Only their own time
    counts: engine actions and database waits in between do not."""
    previous = _state.step
    if seconds is not None and previous is None:
        _state.step = _StepTime(seconds)
    try:
        yield
    finally:
        _state.step = previous


_state = _ThreadState()


def enter(budget: Budget) -> Budget | None:
    previous, _state.budget = _state.budget, budget
    return previous


def leave(previous: Budget | None) -> None:
    current, step = _state.budget, _state.step
    if current is not None and previous is None and step is not None:
        step.spent += monotonic() - current.started  # the outermost call's time counts for the step
    _state.budget = previous


_statm = {"pid": None, "fd": None}
_statm_lock = threading.Lock()
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """Resident memory of this process, or None where /proc is missing.

    One descriptor per process, read with pread (no open/close per look, which a
    RecursionError could interrupt); reopened after a fork, since /proc/self was
    resolved when it was opened.
    """
    pid = os.getpid()
    if _statm["pid"] != pid:
        with _statm_lock:
            if _statm["pid"] != pid:
                try:
                    _statm["fd"] = os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except (OSError, AttributeError):
                    _statm["fd"] = None
                _statm["pid"] = pid
    fd = _statm["fd"]
    if fd is None:
        return None
    try:
        return int(os.pread(fd, 128, 0).split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**18 else "more than 10^18"


def refuse(message: str):
    """Stop the script for going over a size limit (uncatchable inside the script)."""
    error = ScriptLimitExceeded(message)
    budget = _state.budget
    if budget is None:
        raise error
    budget.trip(error)


def check_items(size: int, what: str) -> None:
    if size > MAX_ITEMS:
        refuse(f"{what} would make {_count(size)} characters or items, over the limit of {MAX_ITEMS:,}")


def charge(size: int) -> None:
    budget = _state.budget
    if budget is not None:
        budget.allocated += size
        if budget.allocated > MAX_ALLOCATED:
            budget.trip(ScriptLimitExceeded(
                f"script built more than {MAX_ALLOCATED:,} characters or items in total (its allocation limit)"))
        if budget.memory_limit is not None and budget.allocated >= budget.next_memory_charge:
            budget.check_memory(monotonic())


#: Items above which set(), dict(), dict.fromkeys(), max() and min() take them one by one,
#: ticking: inserting keys whose hashes collide, or comparing values that share huge parts,
#: costs per item what one C call would do unchecked for all of them.
TICK_ABOVE = 1_000


def ticked(items):
    """The items, with a tick before each: a C loop over them can run no longer than the limits."""
    for item in items:
        loop_tick()
        yield item


def ticked_if_many(source):
    """The source as it is when it has few items, else ticked(source) (also when unsized)."""
    try:
        few = len(source) <= TICK_ABOVE
    except (TypeError, OverflowError):  # a generator; a range too long to count
        few = False
    return source if few else ticked(source)


def loop_tick() -> None:
    """Called at the top of every loop body, function and lambda, and per item iterated."""
    budget = _state.budget
    if budget is None:
        raise ScriptError("script code ran outside the script engine")
    if budget.tripped is not None:
        raise Interrupt(budget.tripped)
    ticks = budget.ticks = budget.ticks + 1
    if ticks > budget.max_ticks:
        budget.trip(ScriptTimeLimit(
            f"script went over its limit of {budget.max_ticks:,} loop iterations and function calls"))
    now = monotonic()
    if budget.deadline is not None and now > budget.deadline:
        budget.trip(budget.time_error())
    if budget.memory_limit is not None and now >= budget.next_memory_check:
        budget.check_memory(now)
