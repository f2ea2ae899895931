"""Known ways out of a Python sandbox, each of which the script engine must refuse.

Every payload that could act on the server tries to create a marker file; each case
asserts that an exception was raised, that the marker does not exist, that the task
data objects handed to the script were not altered, and that it stopped in time.
"""
from __future__ import annotations

import time

import pytest
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.scripting import ScriptError, ScriptLimitExceeded, ScriptTimeLimit, make_script_engine
from tests.unit.scripting_fixtures import gateway_process, linear_process, load_spec, script_task, start_workflow

TOUCH = "__import__('os').system('touch ' + MARKER)"
HANG_GUARD = 10.0  # seconds: fail rather than hang if a limit does not work

Refused = ScriptError           # refused when compiled, or stopped by a limit
Limit = ScriptLimitExceeded
Slow = ScriptTimeLimit

CORPUS = [
    # imports and the import machinery
    pytest.param(TOUCH, Refused, id="dunder-import-call"),
    pytest.param("import os\nos.system('touch ' + MARKER)", Refused, id="import-statement"),
    pytest.param("from os import system\nsystem('touch ' + MARKER)", Refused, id="from-import"),
    pytest.param("__loader__.load_module('os').system('touch ' + MARKER)", Refused, id="module-loader"),
    pytest.param("__spec__.loader.load_module('os')", Refused, id="module-spec"),
    pytest.param("__builtins__['__import__']('os').system('touch ' + MARKER)", Refused, id="builtins-subscript"),
    pytest.param("del __builtins__", Refused, id="delete-builtins"),
    pytest.param("ｅｘｅｃ('import os')", Refused, id="fullwidth-exec"),
    # introspection walks from any object to the interpreter
    pytest.param(
        "w = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]\n"
        "w()._module.__builtins__['__import__']('os').system('touch ' + MARKER)", Refused,
        id="subclass-walk"),
    pytest.param("''.__class__.__mro__[1].__subclasses__()", Refused, id="str-mro"),
    pytest.param("x = datetime.mro()", AttributeError, id="mro-method"),
    pytest.param("type(1)", NameError, id="type-call"),
    pytest.param("type.__subclasses__(type)", Refused, id="type-subclasses"),
    pytest.param("getattr(1, '__class__')", NameError, id="getattr-builtin"),
    pytest.param("vars()", NameError, id="vars"),
    pytest.param("globals()['__builtins__']", NameError, id="globals"),
    pytest.param("locals()", NameError, id="locals"),
    pytest.param("dir(data)", NameError, id="dir"),
    pytest.param("f = lambda: 0\nf.__globals__['__builtins__']['open'](MARKER, 'w')", Refused,
                 id="function-globals"),
    pytest.param("f = lambda: 0\nf.func_globals", AttributeError, id="function-attribute-at-run-time"),
    pytest.param("(lambda: 0).__code__", Refused, id="code-object"),
    pytest.param("g = (i for i in [1])\ng.gi_frame.f_back.f_globals['__builtins__']", Refused,
                 id="generator-frame-walk"),
    pytest.param("g = (i for i in [1])\ng.throw(ValueError)", AttributeError, id="generator-method"),
    pytest.param("try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_back.f_globals",
                 Refused, id="traceback-frame-walk"),
    pytest.param("try:\n    1 / 0\nexcept Exception as e:\n    t = e.with_traceback(None)", AttributeError,
                 id="exception-method"),
    pytest.param("len.__self__.open(MARKER, 'w')", Refused, id="builtin-function-self"),
    pytest.param("data.keys().mapping", AttributeError, id="dict-view-mapping"),
    # str.format and friends reach attributes through the format mini-language
    pytest.param("'{0.__class__}'.format(1)", AttributeError, id="format-attribute"),
    pytest.param("f = lambda: 0\n'{.__globals__}'.format(f)", AttributeError, id="format-globals"),
    pytest.param("'{x.__class__}'.format_map({'x': 1})", AttributeError, id="format-map"),
    pytest.param("str.format('{0.__class__}', 1)", AttributeError, id="unbound-str-format"),
    pytest.param("f'{data.__class__}'", Refused, id="f-string-attribute"),
    # helper classes expose no modules
    pytest.param("datetime.__module__", Refused, id="helper-module-name"),
    pytest.param("datetime.sys.modules['os'].system('touch ' + MARKER)", AttributeError, id="helper-module-attribute"),
    pytest.param("uuid.os.system('touch ' + MARKER)", NameError, id="uuid-module-attribute"),
    pytest.param("__import__('uuid').os.system('touch ' + MARKER)", Refused, id="uuid-via-import"),
    pytest.param("timezone.utc.utcoffset.__self__", Refused, id="helper-method-self"),
    # no I/O and no code generation
    pytest.param("open(MARKER, 'w').write('x')", NameError, id="open-file"),
    pytest.param("open('/etc/passwd').read()", NameError, id="read-passwd"),
    pytest.param("exec('import os')", Refused, id="exec"),
    pytest.param("eval('1 + 1')", Refused, id="eval"),
    pytest.param("compile('1', '<x>', 'eval')", NameError, id="compile"),
    pytest.param("breakpoint()", Refused, id="breakpoint"),
    pytest.param("print('x', file=open(MARKER, 'w'))", NameError, id="print-to-file"),
    # writes to task data objects and to the engine's guards
    pytest.param("data.__class__ = list", Refused, id="dunder-attribute-write"),
    pytest.param("data.__dict__['x'] = 1", Refused, id="dunder-dict-write"),
    pytest.param("data.extra = 1", AttributeError, id="attribute-write"),
    pytest.param("setattr(data, 'extra', 1)", NameError, id="setattr"),
    pytest.param("x = []\nx.__class__ = dict", Refused, id="class-assignment"),
    pytest.param("(_getattr_ := lambda o, n: 1)", Refused, id="walrus-guard"),
    pytest.param("def f():\n    global _getiter_\n    _getiter_ = iter\nf()", Refused, id="global-guard"),
    # language features that are not allowed
    pytest.param("with open(MARKER, 'w') as f:\n    f.write('x')", Refused, id="with-statement"),
    pytest.param("async def f():\n    await g()", Refused, id="async-await"),
    pytest.param("class X:\n    pass", Refused, id="class-definition"),
    pytest.param("type('X', (), {})", NameError, id="three-argument-type"),
    pytest.param("x = [1]\nx.append = print", TypeError, id="list-attribute-write"),
    pytest.param("x = [1]\ndel x.append", TypeError, id="list-attribute-delete"),
    pytest.param("x = 'abc'\nx[0] = 'z'", TypeError, id="item-write-on-text"),
    # size bombs
    pytest.param("x = 10**10**10", Limit, id="huge-exponent"),
    pytest.param("x = 2**(10**8)", Limit, id="exponent-ten-to-the-eight"),
    pytest.param("x = pow(2, 10**8)", Limit, id="pow-builtin"),
    pytest.param("x = 'a' * 10**10", Limit, id="string-repeat"),
    pytest.param("x = 10**10 * 'a'", Limit, id="string-repeat-count-first"),
    pytest.param("x = [0] * 10**6\nx *= 10**6", Limit, id="list-in-place-repeat"),
    pytest.param("x = [0] * 10**6\nwhile True:\n    x += x", Limit, id="list-in-place-doubling"),
    pytest.param("x = [{'a' * 10**5: 'b' * 10**5}] * 1000\ny = str(x)", Limit, id="str-of-shared-dicts"),
    pytest.param("x = ['a' * 10**5] * 1000\ny = f'{x!a}'", Limit, id="f-string-ascii-of-shared-references"),
    pytest.param("x = [0] * 10**10", Limit, id="list-repeat"),
    pytest.param("x = 'a' * 10**6\nx *= 10**6", Limit, id="in-place-repeat"),
    pytest.param("x = 'a' * 10**6\ny = x * 10**6", Limit, id="repeat-of-a-large-string"),
    pytest.param("x = 1 << 10**9", Limit, id="left-shift"),
    pytest.param("x = 2**5000\nfor i in range(10):\n    x = x * x", Limit, id="int-squaring"),
    pytest.param("x = 'a' * 10**6\nfor i in range(30):\n    x = x + x", Limit, id="concatenation-doubling"),
    pytest.param("x = [0] * 10**6\nfor i in range(30):\n    x = [*x, *x]", Limit, id="star-doubling"),
    pytest.param("x = [0] * 10**6\nwhile True:\n    x.extend(x)", Limit, id="extend-doubling"),
    pytest.param("x = [0] * 10**6\nx[:0] = x", Limit, id="slice-assignment-doubling"),
    pytest.param("x = ('a' * 10**6).replace('a', 'a' * 10**6)", Limit, id="replace-bomb"),
    pytest.param("x = 'a'.ljust(10**10)", Limit, id="ljust-bomb"),
    pytest.param("x = (1).to_bytes(10**10, 'big')", Limit, id="to-bytes-bomb"),
    pytest.param("x = ['a' * 10**6] * 1000\ny = ''.join(x)", Limit, id="join-bomb"),
    pytest.param("x = ['a' * 10**5] * 1000\ny = str(x)", Limit, id="str-of-shared-references"),
    pytest.param("x = ['a' * 10**5] * 1000\ny = str(object=x)", Limit, id="str-keyword-of-shared-references"),
    pytest.param("x = ['a' * 10**5] * 1000\ny = f'{x!r}'", Limit, id="f-string-repr-of-shared-references"),
    pytest.param("x = ['a' * 10**5] * 1000\ny = '%s' % (x,)", Limit, id="percent-of-shared-references"),
    pytest.param("x = f'{1:>{10**10}}'", Limit, id="f-string-width"),
    pytest.param("x = '%*d' % (10**10, 1)", Limit, id="percent-star-width"),
    pytest.param("x = sum([[0] * 10**6] * 10**3, [])", TypeError, id="sum-of-lists"),
    pytest.param("x = ('\\u00e9' * 10**6).encode('punycode')", LookupError, id="quadratic-codec"),
    pytest.param("x = (0).from_bytes(b'\\xff' * 10**6, 'big')", Limit, id="int-from-bytes"),
    pytest.param("x = int('f' * 10**6, 16)", Limit, id="int-from-long-hex"),
    pytest.param("x = str(b'abc', 'punycode')", LookupError, id="decoding-with-a-quadratic-codec"),
    pytest.param("x = [range(10**6)] * 10**6\ny = max(zip(*x))", Slow, id="zip-of-a-million-iterables"),
    pytest.param("x = datetime.now().strftime('%100000Y' * 999)", Limit, id="strftime-padding"),
    pytest.param("x = f'{datetime.now():{\"%9Y\" * 10**5}}'", Limit, id="f-string-long-format"),
    pytest.param("x = round(1, -10**8)", Limit, id="round-digits"),
    pytest.param("x = list(range(10**12))", Limit, id="huge-range"),
    pytest.param("try:\n    x = 'a' * 10**10\nexcept Exception:\n    x = 'swallowed'", Limit,
                 id="size-limit-cannot-be-swallowed"),
    pytest.param("try:\n    try:\n        x = 'a' * 10**10\n    except BaseException:\n        pass\n"
                 "except Exception:\n    pass\ndone = True", Limit,
                 id="limit-turned-into-name-error-and-swallowed"),
    # runaway loops and recursion
    pytest.param("while True:\n    pass", Slow, id="while-true"),
    pytest.param("for i in iter(int, 1):\n    pass", NameError, id="iter-sentinel"),
    pytest.param("f = lambda f: f(f)\nf(f)", Limit, id="lambda-recursion"),
    pytest.param("def f(n):\n    try:\n        f(n + 1)\n    except:\n        f(n + 1)\nf(0)", Slow,
                 id="exponential-recursion-catching-errors"),
    pytest.param("x = [x for x in range(10**12)]", Limit, id="comprehension-over-huge-range"),
    pytest.param("x = [a for a in range(10**6) for b in range(10**6)]", Slow, id="nested-comprehension"),
    pytest.param("x = [[b for b in range(10**4)] for a in range(10**3)]", Slow, id="comprehension-walk-1e7"),
    pytest.param("def g():\n    while True:\n        yield 1\nx = list(g())", Slow, id="endless-generator-into-list"),
    pytest.param("while True:\n    try:\n        pass\n    except Exception:\n        pass", Slow,
                 id="except-exception-in-loop"),
    pytest.param("while True:\n    try:\n        while True:\n            pass\n    except:\n        pass", Slow,
                 id="bare-except-around-loop"),
    pytest.param("while True:\n    try:\n        try:\n            while True:\n                pass\n"
                 "        except BaseException:\n            pass\n    except Exception:\n        pass", Slow,
                 id="failing-except-clause-turns-limit-into-name-error"),
    pytest.param("try:\n    while True:\n        pass\nfinally:\n    while True:\n        pass", Slow,
                 id="loop-in-finally"),
    pytest.param("def f():\n    try:\n        while True:\n            pass\n    finally:\n        return 1\n"
                 "x = f()", Slow, id="return-in-finally-swallows-the-limit"),
    # what a script leaves behind must be storable
    pytest.param("g = (x for x in items)", Refused, id="generator-left-in-data"),
    pytest.param("d = {'typename': 'BpmnWorkflow'}", Refused, id="typename-key-left-in-data"),
    # one small value stored many times over, or text the database cannot take
    pytest.param("s = 'a' * 10**6\n" + " = ".join(f"v{i}" for i in range(1100)) + " = s\ns = None", Refused,
                 id="one-value-under-a-thousand-names"),
    pytest.param("a = [0, ''] * 500\nb = [a] * 1990\na = None\n" + " = ".join(f"v{i}" for i in range(200))
                 + " = b\nb = None", Refused, id="shared-structure-makes-the-data-check-slow"),
    pytest.param("x = chr(0xd800)", Refused, id="lone-surrogate-left-in-data"),
    pytest.param("d = {chr(0xdfff): 1}", Refused, id="lone-surrogate-key-left-in-data"),
    # compiling itself as the bomb: every nested finally doubles the code
    pytest.param("x = 1\n" + "".join(" " * i + "try:\n" + " " * (i + 1) + "x = 1\n" + " " * i + "finally:\n"
                                     for i in range(20)) + " " * 20 + "x = 2", Refused,
                 id="nested-finally-compile-bomb"),
    # one C call doing quadratic work: keys whose hashes collide, values sharing a huge part
    pytest.param("k = [i * (2**61 - 1) for i in range(2 * 10**5)]\nn = len(set(k))", Slow,
                 id="hash-collisions-into-a-set"),
    pytest.param("k = [i * (2**61 - 1) for i in range(2 * 10**5)]\nn = len({}.fromkeys(k))", Slow,
                 id="hash-collisions-into-dict-fromkeys"),
    pytest.param("k = [(i * (2**61 - 1), 1) for i in range(2 * 10**5)]\nn = len(dict(k))", Slow,
                 id="hash-collisions-into-dict"),
    pytest.param("a = [0] * 10**6\nb = [a] * 10**6\nn = len(max(b))", Slow, id="max-over-shared-huge-lists"),
    # task data cannot turn a bare except into something that catches nothing
    pytest.param("Exception = 'x'\nwhile True:\n    try:\n        y = 1 / 0\n    except:\n        pass", Slow,
                 id="bare-except-with-exception-shadowed"),
]


@pytest.fixture(scope="module")
def env():
    return make_script_engine(time_limit=0.5).environment


def test_the_corpus_has_at_least_25_distinct_techniques():
    """The corpus is broad enough to be meaningful."""
    assert len({case.id for case in CORPUS}) == len(CORPUS) >= 25


@pytest.mark.parametrize(("source", "expected"), CORPUS)
def test_escape_is_refused_without_side_effect(env, tmp_path, source, expected):
    """Each technique raises, creates no marker file, leaves task data objects alone, and stops in time."""
    marker = tmp_path / "escaped"
    data = {"data": {"name": "citizen"}, "items": [1, 2]}
    started = time.monotonic()
    with pytest.raises(expected):
        env.execute(source.replace("MARKER", repr(str(marker))), data)
    assert time.monotonic() - started < HANG_GUARD
    assert not marker.exists()
    assert data["data"] == {"name": "citizen"}
    assert data["items"] == [1, 2]


EXPRESSIONS = [
    pytest.param(TOUCH, id="dunder-import"),
    pytest.param("().__class__.__base__.__subclasses__()", id="subclass-walk"),
    pytest.param("'{0.__class__}'.format(1)", id="format-attribute"),
    pytest.param("[x for x in range(10**6) for y in range(10**6)]", id="endless-comprehension"),
    pytest.param("10**10**10", id="huge-exponent"),
    pytest.param("(lambda f: f(f))(lambda f: f(f))", id="lambda-recursion"),
    pytest.param("open(MARKER, 'w')", id="open-file"),
    pytest.param("items.append(1)", id="mutating-task-data"),
    pytest.param("(g := (x for x in items))", id="generator-result"),
    pytest.param("'ok' + chr(0xd800)", id="lone-surrogate-result"),
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_escape_in_an_expression_is_refused(env, tmp_path, expression):
    """Conditions, timer and DMN expressions go through the same guards."""
    marker = tmp_path / "escaped"
    data = {"items": [1, 2]}
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - what matters is that it did not run
        env.evaluate(expression.replace("MARKER", repr(str(marker))), data)
    assert time.monotonic() - started < HANG_GUARD
    assert not marker.exists()
    assert data == {"items": [1, 2]}


WORKFLOW_PAYLOADS = [
    pytest.param(TOUCH, id="dunder-import"),
    pytest.param("[c for c in ().__class__.__base__.__subclasses__()]", id="subclass-walk"),
    pytest.param("'{0.__class__}'.format(1) or open(MARKER, 'w')", id="format-then-open"),
    pytest.param("datetime.sys.modules['os'].system('touch ' + MARKER)", id="helper-module-attribute"),
]


@pytest.mark.parametrize("payload", WORKFLOW_PAYLOADS)
def test_escape_in_a_script_task_fails_the_task(tmp_path, payload):
    """In a real workflow the script task goes to ERROR and nothing runs."""
    marker = tmp_path / "escaped"
    engine = make_script_engine(time_limit=0.5)
    spec = load_spec(linear_process(script_task("evil", "x = " + payload.replace("MARKER", repr(str(marker))))))
    with pytest.raises(WorkflowException) as caught:
        start_workflow(spec, engine)
    assert not marker.exists()
    assert getattr(caught.value, "task", None) is not None
    assert caught.value.task.state == TaskState.ERROR


@pytest.mark.parametrize("payload", WORKFLOW_PAYLOADS)
def test_escape_in_a_gateway_condition_stops_the_workflow(tmp_path, payload):
    """A hostile gateway condition raises instead of choosing a path, and nothing runs."""
    marker = tmp_path / "escaped"
    engine = make_script_engine(time_limit=0.5)
    spec = load_spec(gateway_process("pass", payload.replace("MARKER", repr(str(marker)))))
    with pytest.raises(WorkflowException):
        start_workflow(spec, engine)
    assert not marker.exists()


def test_endless_loop_in_a_script_task_stops_at_the_time_limit():
    """A script task with `while True: pass` fails with ScriptTimeLimit instead of hanging the worker."""
    engine = make_script_engine(time_limit=0.5)
    spec = load_spec(linear_process(script_task("spin", "x = 'a' * 10**5\nwhile True:\n    n = x.count('b')")))
    started = time.monotonic()
    with pytest.raises(ScriptTimeLimit, match="time limit"):
        start_workflow(spec, engine)
    assert time.monotonic() - started < HANG_GUARD


def test_the_clock_of_the_step_cannot_be_bypassed_through_a_value():
    """datetime.min.now() reaches the class method through a value: it gives the step's time too."""
    from datetime import datetime, timezone

    from engine.clock import FixedClock
    from engine.workflow import spiff_clock
    env = make_script_engine(time_limit=0.5).environment
    data = {}
    with spiff_clock.using(FixedClock(datetime(2020, 1, 1, tzinfo=timezone.utc))):
        env.execute("a = datetime.min.now().year\nb = date.max.today().year\nc = datetime.today().year", data)
    assert (data["a"], data["b"], data["c"]) == (2020, 2020, 2020)
    with pytest.raises(AttributeError):
        env.execute("x = datetime.min.utcnow()", {})
    with pytest.raises(AttributeError, match="timetuple"):  # named, not a KeyError from C code
        env.execute("x = date.today().timetuple()", {})


def test_a_diagram_loop_of_scripts_stops_at_the_steps_time_limit():
    """Each script is under its own limit, but a loop of them in one step is bounded as a whole."""
    from engine.errors import WorkflowFailed
    from engine.workflow import runner
    from engine.workflow.specs import ParsedDefinition
    from tests.unit.scripting_fixtures import loop_process
    engine = make_script_engine(time_limit=0.5)
    engine.environment.step_time_limit = 1.0  # the step's scripts together: 1 s
    # Each round runs well within its own limit; the gateway sends it round again and again.
    spec = load_spec(loop_process("n = n + 1\nk = 0\nwhile k < 50000:\n    k = k + 1", "n < 10**6"))
    started = time.monotonic()
    with pytest.raises(WorkflowFailed, match="the step ran its scripts"):
        runner.start(ParsedDefinition(1, "proc", 1, spec, {}), {"n": 0}, engine)
    assert 1.0 <= time.monotonic() - started < HANG_GUARD


def test_a_step_whose_script_time_is_spent_stops_before_the_next_script_saying_so():
    from engine.errors import WorkflowFailed
    from engine.workflow import runner
    from engine.workflow.specs import ParsedDefinition
    from tests.unit.scripting_fixtures import loop_process
    engine = make_script_engine(time_limit=0.5)
    engine.environment.step_time_limit = 0.005
    # The condition's one long C call ends past what the step had: the script after it is
    # refused before it starts.
    spec = load_spec(loop_process("n = n + 1", "len(sorted(range(10**6), reverse=True)) > 0 and n < 3"))
    with pytest.raises(WorkflowFailed) as caught:
        runner.start(ParsedDefinition(1, "proc", 1, spec, {}), {"n": 0}, engine)
    assert "the step ran its scripts and expressions for longer than its time limit of 0.005 s" \
        in caught.value.message
    assert "line 0" not in caught.value.message


def test_time_outside_scripts_does_not_count_against_the_step():
    """An engine action or a database wait between scripts is not script time."""
    from engine.scripting.budget import step_time_limit
    env = make_script_engine(time_limit=0.5).environment
    with step_time_limit(0.3):
        env.execute("x = 1", {})
        time.sleep(0.5)  # what an action or a lock wait might take
        data = {}
        env.execute("x = 2", data)
    assert data["x"] == 2


def test_a_loop_cardinality_beyond_the_cap_is_refused():
    from tests.unit.scripting_fixtures import multi_instance_process
    engine = make_script_engine(time_limit=0.5)
    spec = load_spec(multi_instance_process("10**6"))
    started = time.monotonic()
    with pytest.raises(WorkflowException, match="1,000 instances"):
        start_workflow(spec, engine)
    assert time.monotonic() - started < HANG_GUARD
