"""A value nested deeper than the C stack allows must not take the process down with it.

CPython 3.11 hashes a nested tuple recursively in C with no depth check; on a default 8 MiB
thread stack, hashing one nested ~300,000 deep kills the process (SIGSEGV). Threads that run
steps get a deep stack instead (engine.scripting.budget.use_deep_stacks).
"""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {root!r})
    from engine.scripting import make_script_engine
    from engine.scripting.budget import use_deep_stacks
    if {deep}:
        use_deep_stacks()
    env = make_script_engine(time_limit=20.0).environment
    outcome = []
    def step():
        data = {{}}
        env.execute("t = ()\\nfor i in range(900000):\\n    t = (t,)\\nfound = t in {{}}\\nt = None", data)
        outcome.append(data["found"])
    thread = threading.Thread(target=step)
    thread.start()
    thread.join()
    print("survived", outcome)
""")


def run(deep: bool) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM.format(root=str(ROOT), deep=deep)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_deeply_nested_value_hashed_in_a_script_does_not_kill_a_thread_with_a_deep_stack():
    result = run(deep=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "survived [False]" in result.stdout


@pytest.mark.slow
def test_without_the_deep_stack_the_same_script_kills_the_process():
    """What the deep stack is for: if CPython ever checks the depth itself, this shows it."""
    result = run(deep=False)
    assert result.returncode == -11  # SIGSEGV
