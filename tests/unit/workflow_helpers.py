"""Helpers for tests that drive workflows directly through the runner."""
from engine.scripting import make_script_engine
from engine.workflow import runner, state
from engine.workflow.definitions import parse_process
from engine.workflow.specs import ParsedDefinition
from tests.conftest import bundle

SCRIPT_ENGINE = make_script_engine(time_limit=1.0)


def parsed(process_key: str, *files: str) -> ParsedDefinition:
    """Parse a test diagram into the cached-spec form the engine uses."""
    spec, subs = parse_process(process_key, bundle(*files))
    return ParsedDefinition(1, process_key, 1, spec, subs)


def reload(workflow, definition):
    """Save and restore a workflow, as every request does."""
    return state.load(state.dump(workflow), definition.spec, definition.subprocess_specs, SCRIPT_ENGINE)


def ready(workflow) -> dict:
    """READY manual tasks by spec name."""
    return {t.spec_name: t for t in runner.ready_manual_tasks(workflow)}
