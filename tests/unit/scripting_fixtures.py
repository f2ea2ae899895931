"""Small BPMN/DMN diagrams for the script engine tests, built as XML strings."""
from __future__ import annotations

from xml.sax.saxutils import escape

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)


def script_task(task_id: str, script: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}" name="{task_id}"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>'


def user_task(task_id: str) -> str:
    return f'<bpmn:userTask id="{task_id}" name="{task_id}"/>'


def timer_event(event_id: str, expression: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="{event_id}" name="{event_id}"><bpmn:timerEventDefinition>'
            f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{escape(expression)}</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


def rule_task(task_id: str, decision_id: str) -> str:
    return (f'<bpmn:businessRuleTask id="{task_id}" name="{task_id}"><bpmn:extensionElements>'
            f'<spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId>'
            '</bpmn:extensionElements></bpmn:businessRuleTask>')


def _flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>')


def _node_id(node_xml: str) -> str:
    return node_xml.split('id="', 1)[1].split('"', 1)[0]


def linear_process(*nodes: str, process_id: str = "proc") -> str:
    """start -> each node in turn -> end."""
    ids = ["start", *(_node_id(node) for node in nodes), "end"]
    flows = [_flow(f"f{i}", a, b) for i, (a, b) in enumerate(zip(ids, ids[1:]))]
    body = ['<bpmn:startEvent id="start"/>', *nodes, '<bpmn:endEvent id="end"/>', *flows]
    return _HEADER + f'<bpmn:process id="{process_id}" isExecutable="true">\n' + "\n".join(body) + \
        "\n</bpmn:process>\n</bpmn:definitions>\n"


def gateway_process(script: str, condition: str, process_id: str = "proc") -> str:
    """start -> script -> gateway: `condition` leads to `route = "high"`, else `route = "low"`."""
    body = [
        '<bpmn:startEvent id="start"/>',
        script_task("prepare", script),
        '<bpmn:exclusiveGateway id="decide" default="to_low"/>',
        script_task("high", 'route = "high"'),
        script_task("low", 'route = "low"'),
        '<bpmn:endEvent id="end_high"/>',
        '<bpmn:endEvent id="end_low"/>',
        _flow("f0", "start", "prepare"),
        _flow("f1", "prepare", "decide"),
        _flow("to_high", "decide", "high", condition),
        _flow("to_low", "decide", "low"),
        _flow("f2", "high", "end_high"),
        _flow("f3", "low", "end_low"),
    ]
    return _HEADER + f'<bpmn:process id="{process_id}" isExecutable="true">\n' + "\n".join(body) + \
        "\n</bpmn:process>\n</bpmn:definitions>\n"


def loop_process(script: str, again: str, process_id: str = "proc") -> str:
    """start -> script -> gateway: while `again` holds, back to the script; else the end."""
    body = [
        '<bpmn:startEvent id="start"/>',
        '<bpmn:exclusiveGateway id="enter"/>',
        script_task("work", script),
        '<bpmn:exclusiveGateway id="more" default="done"/>',
        '<bpmn:endEvent id="end"/>',
        _flow("f0", "start", "enter"),
        _flow("f1", "enter", "work"),
        _flow("f2", "work", "more"),
        _flow("again", "more", "enter", again),
        _flow("done", "more", "end"),
    ]
    return _HEADER + f'<bpmn:process id="{process_id}" isExecutable="true">\n' + "\n".join(body) + \
        "\n</bpmn:process>\n</bpmn:definitions>\n"


def multi_instance_process(cardinality: str, process_id: str = "proc") -> str:
    """start -> a parallel multi-instance script task run `cardinality` times -> end."""
    task = (f'<bpmn:scriptTask id="each" name="each"><bpmn:multiInstanceLoopCharacteristics>'
            f'<bpmn:loopCardinality>{escape(cardinality)}</bpmn:loopCardinality>'
            '</bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>')
    return linear_process(task, process_id=process_id)


ROUTING_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="routing" name="Routing"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="route_by_category" name="Route by category">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="input_category" label="Category">
        <inputExpression id="input_expression" typeRef="string"><text>category</text></inputExpression>
      </input>
      <output id="output_agency" label="Agency" name="agency" typeRef="string"/>
      <rule id="rule_roads">
        <inputEntry id="rule_roads_in"><text>? in ("pothole", "signal")</text></inputEntry>
        <outputEntry id="rule_roads_out"><text>"roads"</text></outputEntry>
      </rule>
      <rule id="rule_other">
        <inputEntry id="rule_other_in"><text></text></inputEntry>
        <outputEntry id="rule_other_out"><text>"general"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def load_spec(bpmn: str, *, dmn: str | None = None, process_id: str = "proc"):
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn.encode())
    if dmn is not None:
        parser.add_dmn_str(dmn.encode())
    return parser.get_spec(process_id)


def start_workflow(spec, engine, **data) -> BpmnWorkflow:
    """A workflow on `spec` with `data` on its start task, run until it waits or ends."""
    workflow = BpmnWorkflow(spec, script_engine=engine)
    workflow.get_next_task(state=TaskState.READY).data.update(data)
    workflow.do_engine_steps()
    return workflow


def serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
