"""The restricted environment and script engine SpiffWorkflow runs diagram code with."""
from __future__ import annotations

import functools
import reprlib
import threading
import warnings
from types import CodeType

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import budget as limits
from .datacheck import RESERVED_NAMES, Allowance, find_unstorable, has_lone_surrogate
from .errors import Interrupt, ScriptError, ScriptLimitExceeded
from .policy import ScriptPolicy
from .script_builtins import script_globals

MAX_SOURCE_LENGTH = 50_000
COMPILE_CACHE_SIZE = 2048
DEFAULT_MAX_TICKS = 1_000_000
DEFAULT_MEMORY_LIMIT = 512 * 2**20
MAX_MESSAGE_LENGTH = 1000
MAX_PROBLEMS_LISTED = 5

#: What _remove_unstorable says of a variable whose name the serializer reserves.
_RESERVED = "a reserved name"
#: A step's scripts and expressions together may run this many times one script's limit.
STEP_TIME_FACTOR = 10
#: Instances a multi-instance task's loop cardinality may ask for.
MAX_INSTANCES = 1_000

_compile_lock = threading.Lock()
_PLAIN_RESULTS = frozenset({bool, int, float, str, type(None)})
_short_repr = reprlib.Repr()
_short_repr.maxstring = _short_repr.maxother = 200
_short_repr.maxlevel = 3


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def compile_script(source: str, mode: str = "exec") -> CodeType:
    """Compile ``source`` with the script policy, cached by source text.

    ``mode`` is ``"exec"`` for scripts and ``"eval"`` for expressions. Raises ScriptError
    naming the problem (never a bare SyntaxError: SpiffWorkflow's error formatter needs
    a line number a compile error may not have).
    """
    if not isinstance(source, str):
        raise ScriptError(f"a script must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ScriptError(f"script is longer than {MAX_SOURCE_LENGTH:,} characters")
    compile_restricted = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    text = source.strip() if mode == "eval" else source  # like eval(), which ignores surrounding blanks
    # Python warns about some constructs (invalid escapes, `x is 1`) while compiling; the
    # script still runs as Python would run it, and warnings must not escape into the app.
    # catch_warnings is process-wide, so compiles are serialised; they are cached and rare.
    with _compile_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = compile_restricted(text, filename="<string>", policy=ScriptPolicy)
        except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
            raise ScriptError(f"script could not be compiled: {exc}") from None
    if result.errors:
        raise ScriptError("script was refused: " + "; ".join(result.errors))
    return result.code


def _tame(exc: BaseException) -> None:
    """Make a script's exception cheap and safe to print: one short text argument.

    Its arguments could be huge (or shared references that print as terabytes), and
    SpiffWorkflow's error formatter concatenates ``args[0]`` to a str.
    """
    args = exc.args
    if not args or (len(args) == 1 and type(args[0]) is str and len(args[0]) <= MAX_MESSAGE_LENGTH):
        return
    try:
        text = _short_repr.repr(args[0] if len(args) == 1 else args)[:MAX_MESSAGE_LENGTH]
    except Exception:  # a broken repr must not hide the script's error
        text = f"<{type(exc).__name__}>"
    exc.args = (text,)


class RestrictedEnvironment(TaskDataEnvironment):
    """Runs scripts and expressions compiled by RestrictedPython, under limits.

    Safe to share between workflows and threads: configuration is fixed at creation,
    per-call state lives in a ``threading.local``, compiled code is immutable.
    """

    def __init__(self, time_limit: float | None = 2.0, *, max_ticks: int = DEFAULT_MAX_TICKS,
                 memory_limit: int | None = DEFAULT_MEMORY_LIMIT, extra_storable_types=()):
        super().__init__(script_globals(read_only=False))
        self._expression_globals = script_globals(read_only=True)
        self.time_limit = time_limit
        self.step_time_limit = None if time_limit is None else time_limit * STEP_TIME_FACTOR
        self.max_ticks = max_ticks
        self.memory_limit = memory_limit
        self.extra_storable_types = frozenset(extra_storable_types)

    def compile(self, source: str, mode: str = "exec") -> CodeType:
        """Compile (or fetch from the cache) a script or, with ``mode="eval"``, an expression."""
        return compile_script(source, mode)

    def evaluate(self, expression, context, external_context=None):
        code = compile_script(expression, "eval")
        namespace = dict(context)
        if external_context:
            namespace.update(external_context)
        namespace.update(self._expression_globals)
        result = self._run(code, namespace)
        if type(result) is str and has_lone_surrogate(result):
            raise ScriptError("expression returned text with a lone surrogate character, which cannot be stored")
        if type(result) not in _PLAIN_RESULTS:
            problem = find_unstorable(result, extra_types=self.extra_storable_types, allow_sets=True)
            if problem is not None:
                path, what = problem
                where = f"a value whose {path} is" if path else "a"
                raise ScriptError(f"expression returned {where} {what}, which cannot be used as data")
        return result

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code = compile_script(script, "exec")
        context.update(external_context)
        context.update(self.globals)
        failed = True
        try:
            self._run(code, context)
            failed = False
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
            problems = self._remove_unstorable(context)
        if problems and not failed:
            listed = "; ".join(f"script set '{key}', a name SpiffWorkflow reserves for its own data: rename the variable"
                               if what is _RESERVED else
                               f"script left '{key}{path}' = {what} in task data, which cannot be stored"
                               for key, path, what in problems[:MAX_PROBLEMS_LISTED])
            more = len(problems) - MAX_PROBLEMS_LISTED
            raise ScriptError(listed + (f"; and {more} more" if more > 0 else "") + " (removed from the task data)")
        return True

    def call_service(self, context, **kwargs):
        raise ScriptError("service tasks are not supported by the script engine")

    def _run(self, code: CodeType, namespace: dict):
        budget = limits.Budget(self.time_limit, self.max_ticks, self.memory_limit)
        previous = limits.enter(budget)
        try:
            result = eval(code, namespace)  # noqa: S307 - code compiled by RestrictedPython with our policy
        except Interrupt as stop:
            raise stop.error.with_traceback(stop.__traceback__) from None
        except RecursionError as exc:
            raise ScriptLimitExceeded("script went deeper than the recursion limit").with_traceback(
                exc.__traceback__) from None
        except MemoryError as exc:
            raise ScriptLimitExceeded("script ran out of memory").with_traceback(exc.__traceback__) from None
        except Exception as exc:
            _tame(exc)
            raise
        finally:
            limits.leave(previous)
        if budget.tripped is not None:  # tripped, then swallowed by a failing except clause
            raise budget.tripped
        return result

    def _remove_unstorable(self, context: dict) -> list[tuple[str, str, str]]:
        problems = []
        allowance = Allowance()  # all of the task's data together
        for key in list(context):
            if not isinstance(key, str):
                problem = ("", f"value under a key of type {type(key).__name__}")
            elif key in RESERVED_NAMES:  # stored, the case could never be loaded again
                problem = ("", _RESERVED)
            elif key.startswith("_tmp") and key[4:].isdigit():  # policy temporaries, if an error left one
                del context[key]
                continue
            else:
                problem = find_unstorable(context[key], extra_types=self.extra_storable_types,
                                          allowance=allowance)
            if problem is not None:
                del context[key]
                path, what = problem
                problems.append((str(key)[:100], path[:200], what))
        return problems


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, with a RestrictedEnvironment and clean errors."""

    environment: RestrictedEnvironment

    def evaluate(self, task, expression, external_context=None):
        try:
            result = super().evaluate(task, expression, external_context)
            if expression == getattr(getattr(task, "task_spec", None), "cardinality", None) and type(result) is int \
                    and result > MAX_INSTANCES:
                raise ScriptError(f"loop cardinality {result:,} is more than the {MAX_INSTANCES:,} instances "
                                  "a multi-instance task may have")
            return result
        except ScriptError as err:
            if err.task is None:
                err.task, err.task_spec = task, task.task_spec
            raise

    def step(self):
        """Bound the scripts and expressions of the workflow step run inside this block, together."""
        return limits.step_time_limit(self.environment.step_time_limit)

    def execute(self, task, script, external_context=None):
        try:
            return super().execute(task, script, external_context)
        except ScriptError as err:
            if err.task is None:
                err.task, err.task_spec = task, task.task_spec
            raise

    #: The engine's handler for service tasks: (operation_name, {param: value}) -> JSON text.
    services = None

    def call_service(self, task, **kwargs):
        # SpiffWorkflow's own version names an undefined variable in its error path.
        try:
            if self.services is None:
                return self.environment.call_service(task.data, **kwargs)
            params = {name: p["value"] for name, p in kwargs.get("operation_params", {}).items()}
            return self.services(kwargs["operation_name"], params)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(f"{task.task_spec.bpmn_name or task.task_spec.name}: {err}",
                                        task=task, exception=err) from err


def make_script_engine(time_limit: float | None = 2.0, *, max_ticks: int = DEFAULT_MAX_TICKS,
                       memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
                       extra_storable_types=()) -> RestrictedScriptEngine:
    """A restricted script engine; set it on every workflow after creating or loading one.

    ``time_limit`` (seconds, None for none) and ``max_ticks`` (loop iterations plus
    function calls) bound each script or expression; ``memory_limit`` (bytes, None for
    none) bounds the growth of the process's resident memory during one (Linux only).
    ``extra_storable_types`` adds types a script may leave in task data, for types the
    serializer has a converter for (``date`` has none in SPIFF_CONFIG).
    """
    return RestrictedScriptEngine(RestrictedEnvironment(
        time_limit, max_ticks=max_ticks, memory_limit=memory_limit,
        extra_storable_types=extra_storable_types))
