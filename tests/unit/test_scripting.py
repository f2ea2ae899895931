"""The restricted script engine runs the scripts and expressions a process designer writes."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.clock import FixedClock
from engine.scripting import (
    RestrictedScriptEngine,
    ScriptError,
    ScriptLimitExceeded,
    ScriptTimeLimit,
    compile_script,
    make_script_engine,
)
from engine.scripting.budget import loop_tick, resident_bytes
from engine.workflow import spiff_clock
from tests.conftest import TEST_NOW
from tests.unit.scripting_fixtures import (
    ROUTING_DMN,
    gateway_process,
    linear_process,
    load_spec,
    rule_task,
    script_task,
    serializer,
    start_workflow,
    timer_event,
    user_task,
)


@pytest.fixture(scope="module")
def engine():
    return make_script_engine(time_limit=2.0)


@pytest.fixture
def env(engine):
    return engine.environment


def run(env, script, **data):
    env.execute(script, data)
    return data


# ---------------------------------------------------------------- workflows


def test_make_script_engine_returns_a_spiff_script_engine():
    """The factory returns a PythonScriptEngine subclass a workflow accepts."""
    engine = make_script_engine(time_limit=2.0)
    assert isinstance(engine, PythonScriptEngine)
    assert isinstance(engine, RestrictedScriptEngine)


@pytest.mark.parametrize(("amount", "channel", "route"), [
    (20, "web", "high"),
    (20, "phone", "low"),
    (5, "web", "low"),
])
def test_gateway_condition_on_task_data_picks_the_branch(engine, amount, channel, route):
    """A gateway condition over task data chooses the outgoing flow."""
    spec = load_spec(gateway_process("pass", 'amount > 10 and channel == "web"'))
    workflow = start_workflow(spec, engine, amount=amount, channel=channel)
    assert workflow.is_completed()
    assert workflow.data["route"] == route


def test_script_task_writes_data_a_downstream_gateway_reads(engine):
    """Variables a script task sets are seen by the next gateway's condition."""
    script = (
        "summary = {'count': len(items), 'total': sum(i['amount'] for i in items)}\n"
        "flags = []\n"
        "if summary['total'] > 100:\n"
        "    flags.append('large')\n"
    )
    spec = load_spec(gateway_process(script, '"large" in flags'))
    workflow = start_workflow(spec, engine, items=[{"amount": 80}, {"amount": 40}])
    assert workflow.data["summary"] == {"count": 2, "total": 120}
    assert workflow.data["route"] == "high"


def test_timer_expression_sets_a_due_time_two_hours_ahead(engine):
    """A timer duration expression "PT2H" is evaluated by the engine."""
    with spiff_clock.using(FixedClock(TEST_NOW)):
        workflow = start_workflow(load_spec(linear_process(timer_event("wait", '"PT2H"'))), engine)
    [event] = workflow.waiting_events()
    assert datetime.fromisoformat(event.value) == TEST_NOW + timedelta(hours=2)


@pytest.mark.parametrize(("category", "agency"), [("pothole", "roads"), ("signal", "roads"), ("noise", "general")])
def test_dmn_table_routes_by_category(engine, category, agency):
    """DMN cells such as `? in ("pothole", "signal")` run through the engine."""
    spec = load_spec(linear_process(rule_task("route", "route_by_category")), dmn=ROUTING_DMN)
    workflow = start_workflow(spec, engine, category=category)
    assert workflow.data["agency"] == agency


def test_scripts_run_restricted_after_serialize_and_deserialize(engine):
    """Once the engine is set again after a reload, scripts still run and are still restricted."""
    spec = load_spec(linear_process(user_task("review"), script_task("after", "doubled = amount * 2"),
                                    script_task("probe", "'{0.real}'.format(1)")))
    workflow = start_workflow(spec, engine, amount=4)
    restored = serializer().deserialize_json(serializer().serialize_json(workflow))
    restored.script_engine = engine
    restored.get_next_task(state=TaskState.READY, manual=True).run()
    with pytest.raises(WorkflowException, match="format"):
        restored.do_engine_steps()
    assert restored.get_next_task(spec_name="after").data["doubled"] == 8
    assert restored.get_next_task(spec_name="probe").state == TaskState.ERROR


def test_a_deserialized_workflow_has_the_unrestricted_engine_until_it_is_set_again(engine):
    """SpiffWorkflow does not keep the engine: the runner must set it after every load."""
    workflow = start_workflow(load_spec(linear_process(user_task("review"))), engine)
    restored = serializer().deserialize_json(serializer().serialize_json(workflow))
    assert not isinstance(restored.script_engine, RestrictedScriptEngine)


def test_script_error_in_a_task_names_the_task_and_line(engine):
    """A limit hit in a script task carries the task, its line number, and the task goes to ERROR."""
    spec = load_spec(linear_process(script_task("build", "x = 1\ny = 'a' * 10**10")))
    with pytest.raises(ScriptLimitExceeded) as caught:
        start_workflow(spec, engine)
    assert caught.value.task.task_spec.bpmn_id == "build"
    assert caught.value.line_number == 2
    assert caught.value.task.state == TaskState.ERROR


def test_error_with_a_non_text_argument_is_reported_cleanly(engine):
    """KeyError(1) reaches SpiffWorkflow's formatter as text (it would fail on a number)."""
    spec = load_spec(linear_process(script_task("build", "d = {}\nvalue = d[1]")))
    with pytest.raises(WorkflowTaskException) as caught:
        start_workflow(spec, engine)
    assert caught.value.error_type == "KeyError"
    assert "KeyError:1" in str(caught.value)


def test_huge_exception_arguments_are_shortened(env):
    """An exception carrying a huge value is cut down before anyone prints it."""
    with pytest.raises(ValueError) as caught:
        env.execute("raise ValueError(['a' * 1000] * 1000)", {})
    assert len(str(caught.value)) <= 1000


def test_ordinary_script_errors_keep_their_type_and_line(engine):
    """A designer's mistake is reported by SpiffWorkflow as usual, with the line."""
    spec = load_spec(linear_process(script_task("build", "x = 1\ny = missing + 1")))
    with pytest.raises(WorkflowTaskException) as caught:
        start_workflow(spec, engine)
    assert caught.value.error_type == "NameError"
    assert caught.value.line_number == 2


# ---------------------------------------------------------------- scripts and expressions


def test_string_methods_work(env):
    """strip, upper, split, startswith, replace, join and padding work on plain text."""
    data = run(env, (
        "name = raw.strip().upper()\n"
        "words = raw.split()\n"
        "is_road = raw.strip().startswith('road')\n"
        "slug = '-'.join(w.lower() for w in words)\n"
        "fixed = raw.replace('hole', 'HOLE')\n"
        "padded = str(7).zfill(3) + '|' + 'x'.ljust(3) + '|'\n"
    ), raw="  road pothole ")
    assert data["name"] == "ROAD POTHOLE"
    assert data["words"] == ["road", "pothole"]
    assert data["is_road"] is True
    assert data["slug"] == "road-pothole"
    assert data["fixed"] == "  road potHOLE "
    assert data["padded"] == "007|x  |"


def test_the_methods_guarded_against_size_bombs_work_at_ordinary_sizes(env):
    """What a designer writes to format a notice or a file number: each guarded method gives its plain result."""
    data = run(env, (
        "roc = received.strftime('%Y-%m-%d') + ' ' + date(2026, 11, 26).strftime('%m/%d')\n"
        "parsed = datetime.strptime('2026-11-26 09:30', '%Y-%m-%d %H:%M').hour\n"
        "table = raw.translate(raw.maketrans({'路': '路段', '\\t': ' '}))\n"
        "tabs = 'a\\tb'.expandtabs(4)\n"
        "size = len(raw.encode('big5'))\n"
        "decoded = raw.encode('big5').decode('big5')\n"
        "number = (0).from_bytes((1234).to_bytes(2, 'big'), 'big')\n"
        "items = [1]\n"
        "items.extend([2, 3])\n"
        "flags = {}.fromkeys(['road', 'water'], False)\n"
        "try:\n"
        "    int('x')\n"
        "except ValueError as e:\n"
        "    reason = len(e.args)\n"
    ), raw="中山路\t坑洞", received=datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc))
    assert data["roc"] == "2026-11-26 11/26"
    assert data["parsed"] == 9
    assert data["table"] == "中山路段 坑洞"
    assert data["tabs"] == "a   b"
    assert (data["size"], data["decoded"]) == (11, "中山路\t坑洞")
    assert data["number"] == 1234
    assert data["items"] == [1, 2, 3]
    assert data["flags"] == {"road": False, "water": False}
    assert data["reason"] == 1


def test_lists_and_dicts_can_be_changed_in_place(env):
    """Item assignment, deletion and in-place + and * on lists, as a designer writes them."""
    data = run(env, (
        "items = [1, 2, 3]\n"
        "items[0] = 10\n"
        "items[1:2] = [20, 21]\n"
        "del items[-1]\n"
        "items += [4]\n"
        "pair = ['x']\n"
        "pair *= 2\n"
        "counts = {}\n"
        "counts['roads'] = 1\n"
        "counts['roads'] += 1\n"
        "shown = f'{name!s}/{name!a}'\n"
        "text = str(b'ok', 'utf-8')\n"
    ), name="王")
    assert data["items"] == [10, 20, 21, 4]
    assert data["pair"] == ["x", "x"]
    assert data["counts"] == {"roads": 2}
    assert data["shown"] == "王/'\\u738b'"
    assert data["text"] == "ok"


def test_lists_and_dicts_can_be_built_and_read(env):
    """append, dict.get, items, item assignment and augmented item assignment work."""
    data = run(env, (
        "counts = {}\n"
        "for row in rows:\n"
        "    counts[row['kind']] = counts.get(row['kind'], 0)\n"
        "    counts[row['kind']] += 1\n"
        "pairs = []\n"
        "for kind, n in counts.items():\n"
        "    pairs.append([kind, n])\n"
        "rows[0]['seen'] = True\n"
        "first, *rest = [r['kind'] for r in rows]\n"
    ), rows=[{"kind": "a"}, {"kind": "b"}, {"kind": "a"}])
    assert data["counts"] == {"a": 2, "b": 1}
    assert data["pairs"] == [["a", 2], ["b", 1]]
    assert data["rows"][0]["seen"] is True
    assert (data["first"], data["rest"]) == ("a", ["b", "a"])


def test_common_python_constructs_work(env):
    """Branches, loops with else, try/except, nested functions, keyword arguments, slices, unpacking."""
    data = run(env, (
        "x: int = 1\n"
        "assert x == 1, 'x'\n"
        "try:\n"
        "    raise ValueError('bad input')\n"
        "except ValueError as e:\n"
        "    msg = str(e)\n"
        "if x > 1:\n"
        "    k = 'a'\n"
        "elif x == 1:\n"
        "    k = 'b'\n"
        "n = 0\n"
        "while n < 10:\n"
        "    n += 1\n"
        "    if n == 5:\n"
        "        break\n"
        "else:\n"
        "    n = -1\n"
        "def outer(a, b=2, *rest, c=3, **kw):\n"
        "    def inner(z):\n"
        "        return z + a\n"
        "    return inner(b) + c + len(rest) + len(kw)\n"
        "r = outer(1, 2, 3, c=4, d=5) + outer(1, **{'c': 10})\n"
        "window = items[1:3] + items[-1:]\n"
        "a, (b, c) = 1, (2, 3)\n"
        "label = 'ok' if 1 < x + 1 < 3 and opt is None else 'no'\n"
    ), items=[5, 3, 8, 1], opt=None)
    assert (data["msg"], data["k"], data["n"], data["r"]) == ("bad input", "b", 5, 9 + 13)
    assert (data["window"], data["a"] + data["b"] + data["c"], data["label"]) == ([3, 8, 1], 6, "ok")


def test_f_strings_and_percent_formatting_work_with_plain_values(env):
    """f-strings with conversions and format specs, and % formatting, work."""
    data = run(env, (
        "a = f'{case_no}: {amount:>6.2f} {name!r} {when:%Y-%m-%d}'\n"
        "b = 'case %s of %05d' % (case_no, 42)\n"
    ), case_no="P-42", amount=3.5, name="Lin", when=datetime(2024, 5, 1))
    assert data["a"] == "P-42:   3.50 'Lin' 2024-05-01"
    assert data["b"] == "case P-42 of 00042"


def test_sorted_with_a_key_lambda_works(env):
    """sorted(x, key=lambda r: r["due"]) orders task data."""
    data = run(env, "ordered = [r['id'] for r in sorted(rows, key=lambda r: r['due'], reverse=True)]",
               rows=[{"id": 1, "due": 3}, {"id": 2, "due": 9}, {"id": 3, "due": 5}])
    assert data["ordered"] == [2, 3, 1]


def test_datetime_and_timedelta_arithmetic_works(env):
    """datetime, date, timedelta and timezone are available as classes."""
    data = run(env, (
        "due = received + timedelta(days=3, hours=2)\n"
        "late = due < datetime(2024, 1, 10, tzinfo=timezone.utc)\n"
        "days = (due - received).days\n"
        "parsed = datetime.fromisoformat('2024-01-02T03:04:05+00:00')\n"
        "weekday = date(2024, 1, 6).weekday()\n"
    ), received=datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert data["due"] == datetime(2024, 1, 4, 2, tzinfo=timezone.utc)
    assert data["late"] is True
    assert data["days"] == 3
    assert data["parsed"].hour == 3
    assert data["weekday"] == 5


@pytest.mark.parametrize(("expression", "expected"), [
    ('amount > 10 and channel == "web"', True),
    ('category in ("pothole", "signal")', True),
    ("len(items) >= 2", True),
    ("min(items) == 1 and max(items) == 3 and sum(items) == 6", True),
    ("any(i > 2 for i in items) and all(i > 0 for i in items)", True),
    ("abs(-amount) + round(2.6) + divmod(7, 2)[0]", 26),
    ("isinstance(amount, (int, float)) and isinstance(items, list)", True),
    ("sorted(set(items + [1]))", [1, 2, 3]),
    ("[i * 2 for i in range(3)]", [0, 2, 4]),
    ("dict(zip(['a', 'b'], items))", {"a": 1, "b": 2}),
    ("list(enumerate(items))[1]", (1, 2)),
    ("str(amount) + '/' + str(tuple(items))", "20/(1, 2, 3)"),
    ("2 ** 100 == 1 << 100", True),
    ("'-' * 3 + '%5s' % 'x'", "---    x"),
    ("int('42') + float('0.5')", 42.5),
    ("chr(ord('a') + 1)", "b"),
    ("pow(3, 4, 5)", 1),
])
def test_expressions_a_designer_writes_work(env, expression, expected):
    """Conditions and DMN-like expressions evaluate over task data."""
    context = {"amount": 20, "channel": "web", "category": "pothole", "items": [1, 2, 3]}
    assert env.evaluate(expression, context) == expected


def test_expression_surrounded_by_blanks_evaluates(env):
    """Like eval(), leading and trailing blanks and newlines are ignored."""
    assert env.evaluate("\n  amount > 10  \n", {"amount": 11}) is True


def test_functions_defined_in_a_script_work_and_are_not_left_in_task_data(env):
    """A helper def can be used; SpiffWorkflow strips it from the data afterwards."""
    data = run(env, (
        "def label(n):\n"
        "    return 'big' if n > 10 else 'small'\n"
        "labels = [label(n) for n in numbers]\n"
    ), numbers=[5, 50])
    assert data == {"numbers": [5, 50], "labels": ["small", "big"]}


def test_print_is_accepted_and_discarded(env):
    """print() in a script does not fail and leaves nothing behind."""
    assert run(env, "print('debug', amount)\nx = 1", amount=3) == {"amount": 3, "x": 1}


def test_isinstance_refuses_types_that_are_not_plain(env):
    """isinstance takes plain types only, so no class object can be smuggled in."""
    with pytest.raises(TypeError, match="isinstance"):
        env.evaluate("isinstance(1, len)", {})


def test_expressions_may_not_change_task_data(env):
    """A condition cannot mutate data: list/dict mutators are refused in expressions."""
    context = {"items": [1]}
    with pytest.raises(AttributeError, match="expressions may not change data"):
        env.evaluate("items.append(2) or True", context)
    assert context == {"items": [1]}


def test_task_data_cannot_replace_a_guard_in_an_expression(env):
    """A data key named like a guard (from a form, say) does not override the guard."""
    assert env.evaluate("name.upper()", {"name": "a", "_getattr_": "hijacked"}) == "A"


def test_task_data_named_like_a_guard_is_refused_by_a_script(env):
    """SpiffWorkflow's overwrite check refuses data that would shadow an engine global."""
    with pytest.raises(ValueError, match="overwrites"):
        env.execute("x = 1", {"_getattr_": "hijacked"})


def test_data_named_like_a_helper_shadows_it_as_in_python(env):
    """A task data key `date` (a common form field) is allowed and shadows the helper class."""
    assert run(env, "copy = date", date="2024-01-01")["copy"] == "2024-01-01"


# ---------------------------------------------------------------- compile errors and caching


def test_compile_error_names_the_problem(env):
    """A syntax error becomes a ScriptError naming the line and the problem, not a bare SyntaxError."""
    with pytest.raises(ScriptError, match=r"Line 2: SyntaxError"):
        env.execute("x = 1\ny = (", {})


def test_refused_construct_names_the_rule(env):
    """A refused construct says which rule refused it."""
    with pytest.raises(ScriptError, match="import statements are not allowed"):
        env.execute("import json", {})


def test_return_outside_a_function_is_a_clean_compile_error(env):
    """Errors Python's compiler raises after RestrictedPython's checks are converted too."""
    with pytest.raises(ScriptError, match="could not be compiled"):
        env.execute("return 1", {})


def test_compiled_code_is_cached_by_source_text():
    """The same source compiles once; the code object is reused."""
    source = "cached_probe_value > 1"
    first = compile_script(source, "eval")
    hits = compile_script.cache_info().hits
    assert compile_script(source, "eval") is first
    assert compile_script.cache_info().hits == hits + 1


def test_compiler_warnings_do_not_escape(env):
    """Constructs Python warns about still run, and no warning reaches the application."""
    assert env.evaluate("x is 1", {"x": 1}) is True
    assert run(env, r"pattern = '\d+'")["pattern"] == "\\d+"


# ---------------------------------------------------------------- what a script may leave behind


@pytest.mark.parametrize(("script", "message"), [
    ("g = (x for x in [1])", "'g' = generator"),
    ("s = {1, 2}", "'s' = set"),
    ("rows = [1, {'a': (x for x in [])}]", "'rows[1]['a']' = generator"),
    ("d = {'typename': 'x'}", "'typename' key"),
    ("d = {1: 'x'}", "key of type int"),
    ("day = date(2024, 1, 1)", "'day' = date"),
    ("big = int('9' * 4300) * int('9' * 4300)", "bits"),
])
def test_values_that_cannot_be_stored_are_refused_naming_the_key(env, script, message):
    """Anything SpiffWorkflow could not store or restore is refused, naming where it is."""
    data = {"keep": 1}
    with pytest.raises(ScriptError, match=message.replace("[", r"\[").replace("(", r"\(")):
        env.execute(script, data)
    assert data == {"keep": 1}


def test_script_code_cannot_run_outside_a_guarded_call():
    """The guards refuse to run when no evaluate/execute call is active on the thread."""
    with pytest.raises(ScriptError, match="outside the script engine"):
        loop_tick()


def test_service_calls_are_refused_clearly(env):
    """No service tasks are wired to the engine; a call says so instead of a NameError."""
    with pytest.raises(ScriptError, match="service tasks are not supported"):
        env.call_service({}, operation_name="anything")


def test_date_is_storable_when_the_runner_registers_a_converter():
    """extra_storable_types lets a runner that registered `date` with the serializer allow it."""
    env = make_script_engine(extra_storable_types=(date,)).environment
    assert run(env, "day = date(2024, 1, 1)")["day"] == date(2024, 1, 1)


def test_storable_values_survive_a_save_and_reload(engine):
    """Everything the check lets through round-trips through the SPIFF_CONFIG serializer."""
    script = (
        "record = {'n': None, 'b': True, 'i': 2**60, 'f': 1.5, 's': 'x', 'l': [1, [2]], "
        "'t': (1, 2), 'when': datetime(2024, 1, 1, tzinfo=timezone.utc), 'gap': timedelta(hours=1)}"
    )
    workflow = start_workflow(load_spec(linear_process(script_task("build", script), user_task("wait"))), engine)
    restored = serializer().deserialize_json(serializer().serialize_json(workflow))
    record = restored.get_next_task(spec_name="wait").data["record"]
    assert record["when"] == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert record["gap"] == timedelta(hours=1)
    assert record["t"] == [1, 2]


def test_expression_returning_a_generator_is_refused(env):
    """An expression's value may end up in task data, so it must be data too."""
    with pytest.raises(ScriptError, match="expression returned a generator"):
        env.evaluate("(x for x in items)", {"items": [1]})


def test_expression_returning_a_set_is_allowed_for_conditions(env):
    """A set result is still usable as a truth value in a condition."""
    assert env.evaluate("tags & {'urgent'}", {"tags": {"urgent", "x"}}) == {"urgent"}


# ---------------------------------------------------------------- limits


def test_time_limit_names_the_limit():
    """A slow loop stops at the time limit with a ScriptTimeLimit that names it."""
    env = make_script_engine(time_limit=0.5).environment
    with pytest.raises(ScriptTimeLimit, match=r"time limit of 0\.5 s"):
        env.execute("x = 'a' * 10**6\nwhile True:\n    n = x.count('b')", {})


def test_iteration_cap_stops_a_fast_endless_loop():
    """A fast endless loop stops at the iteration cap, also a ScriptTimeLimit."""
    env = make_script_engine(time_limit=5.0, max_ticks=10_000).environment
    with pytest.raises(ScriptTimeLimit, match="10,000 loop iterations"):
        env.execute("while True:\n    pass", {})


def test_loops_within_the_limits_run(env):
    """Ordinary loops, comprehensions and range() up to the limit work."""
    data = run(env, (
        "total = 0\n"
        "for i in range(1000):\n"
        "    total += i\n"
        "n = 0\n"
        "while n < 100:\n"
        "    n += 1\n"
        "squares = {str(i): i * i for i in range(10)}\n"
        "big = len(range(1_000_000))\n"
    ))
    assert (data["total"], data["n"], data["squares"]["9"], data["big"]) == (499500, 100, 81, 1_000_000)


def test_an_engine_is_shared_safely_between_threads():
    """One thread's endless loop hits its limit while another thread's scripts run normally."""
    engine = make_script_engine(time_limit=0.5)
    outcome = {}

    def endless():
        try:
            engine.environment.execute("x = 'a' * 10**5\nwhile True:\n    n = x.count('b')", {})
        except ScriptTimeLimit as exc:
            outcome["endless"] = exc

    def ordinary():
        outcome["ordinary"] = [engine.environment.evaluate("sum(i for i in range(n))", {"n": k})
                               for k in range(200)]

    threads = [threading.Thread(target=endless), threading.Thread(target=ordinary)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert isinstance(outcome["endless"], ScriptTimeLimit)
    assert outcome["ordinary"] == [k * (k - 1) // 2 for k in range(200)]


def test_memory_limit_stops_a_script_that_keeps_allocating():
    """Resident-memory growth past the limit stops the script (Linux)."""
    env = make_script_engine(time_limit=5.0, memory_limit=64 * 2**20).environment
    if resident_bytes() is None:
        pytest.skip("no /proc/self/statm on this platform")
    with pytest.raises(ScriptLimitExceeded, match="memory"):
        env.execute("x = 'a' * 10**6\nkept = []\nwhile True:\n    kept.append(x.upper())", {})


def test_allocation_limit_stops_repeated_large_copies():
    """Guarded operations count what they build; a script cannot build without end."""
    env = make_script_engine(time_limit=5.0, memory_limit=None).environment
    with pytest.raises(ScriptLimitExceeded, match="allocation limit"):
        env.execute("x = 'a' * 999_999\nfor i in range(100):\n    y = x + 'b'", {})
