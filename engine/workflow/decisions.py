"""A process's decision table, asked directly: what its business rule task would decide for some facts."""
from __future__ import annotations

from types import SimpleNamespace

from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin


def decision_task(spec):
    """The process's first business rule task (the one its routing depends on), or None."""
    return next((task for task in spec.task_specs.values() if isinstance(task, BusinessRuleTaskMixin)), None)


def decide(task, data: dict, script_engine) -> dict:
    """The outputs the task's decision table gives for `data`, evaluated by SpiffWorkflow's DMN engine in
    our script engine as the running step would evaluate them ({} when no rule matches); raises what
    the table's expressions raise for facts they cannot take."""
    asked = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=script_engine))
    return dict(task.dmnEngine.result(asked))
