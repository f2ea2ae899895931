"""The restricted script engine for every script and expression in a BPMN/DMN diagram.

Scripts are untrusted (DESIGN decision 9): they are compiled with RestrictedPython and a
policy of our own, run with guards, a short whitelist of builtins and no modules, under
a time limit, an iteration cap and size limits, and may leave only storable data behind.

    from engine.scripting import make_script_engine, ScriptTimeLimit
    engine = make_script_engine(time_limit=2.0)
    workflow.script_engine = engine      # after every load: SpiffWorkflow does not keep it
"""
from .environment import RestrictedEnvironment, RestrictedScriptEngine, compile_script, make_script_engine
from .errors import ScriptError, ScriptLimitExceeded, ScriptTimeLimit

__all__ = [
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "ScriptError",
    "ScriptLimitExceeded",
    "ScriptTimeLimit",
    "compile_script",
    "make_script_engine",
]
