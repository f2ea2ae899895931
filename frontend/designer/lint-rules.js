// petiflow's bpmnlint rules: what deployment refuses (engine/workflow/definitions.py and
// definition_checks.py), said while the designer draws. Code itself (scripts, conditions, timer
// expressions) is compiled by the server's check, which names the element at fault.
//
// Each rule is a bpmnlint rule factory: rule(config) -> { check(node, reporter) }; the config
// carries what the server told the page (the engine actions, the forms, the runnable elements).
import { is } from "bpmnlint-utils";

const T = (config, message) => (config.messages && config.messages[message]) || message;
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, k) => String(values[k]));

function extensions(node, type) {
  return ((node.extensionElements && node.extensionElements.values) || []).filter((v) => is(v, type));
}

function properties(node) {
  return extensions(node, "spiffworkflow:Properties").flatMap((p) => p.values || []);
}

function definitionsOf(node) {
  let at = node;
  while (at.$parent) at = at.$parent;
  return at;
}

function allElements(root) {
  const found = [];
  const seen = new Set();
  (function walk(el) {
    if (!el || typeof el !== "object" || seen.has(el)) return;
    seen.add(el);
    if (el.$type) found.push(el);
    for (const key of ["rootElements", "flowElements", "laneSets", "lanes", "childLaneSet"]) {
      const value = el[key];
      if (Array.isArray(value)) value.forEach(walk);
      else if (value) walk(value);
    }
  })(root);
  return found;
}

// A service task calls an engine action that exists (definition_checks.check_actions).
export function serviceTaskAction(config) {
  return {
    check(node, reporter) {
      if (!is(node, "bpmn:ServiceTask")) return;
      const operator = extensions(node, "spiffworkflow:ServiceTaskOperator")[0];
      const known = config.actions || [];
      if (!operator || !operator.id) {
        reporter.report(node.id, T(config, "A service task must call an engine action"));
      } else if (!known.includes(operator.id)) {
        reporter.report(node.id, fill(T(config, "%(name)s is not an engine action"), { name: operator.id }));
      }
      const parameters = (operator && operator.parameterList && operator.parameterList.values) || [];
      const names = new Set();
      for (const param of parameters) {
        if (!param.id || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(param.id)) {
          reporter.report(node.id, fill(T(config, "Parameter %(name)s needs a name made of letters, digits and _"), { name: JSON.stringify(param.id || "") }));
        } else if (names.has(param.id)) {
          reporter.report(node.id, fill(T(config, "Parameter %(name)s is given twice"), { name: param.id }));
        }
        names.add(param.id);
        if (!(param.value || "").trim()) {
          reporter.report(node.id, fill(T(config, "Parameter %(name)s has no value"), { name: param.id || "" }));
        }
      }
    },
  };
}

// A user task's form exists (definition_checks.check_forms); its properties have values petiflow knows
// (definitions._check_properties).
export function taskProperties(config) {
  return {
    check(node, reporter) {
      if (!is(node, "bpmn:Task")) return;
      const choices = config.choices || {};
      for (const prop of properties(node)) {
        const { name, value } = prop;
        if (name === "formJsonSchemaFilename" && value && !(config.forms || []).includes(value)) {
          reporter.report(node.id, fill(T(config, "Form %(name)s is not in the forms folder"), { name: value }));
        } else if (choices[name] && !choices[name].includes(value)) {
          reporter.report(node.id, fill(T(config, "Property %(name)s may be %(values)s"), { name, values: choices[name].join(" / ") }));
        } else if ((name === "agencyVariable" || name === "assigneeVariable")
            && !(value && /^[A-Za-z][A-Za-z0-9_]*$/.test(value))) {
          reporter.report(node.id, fill(T(config, "Property %(name)s must name a variable"), { name }));
        } else if (name === "assignTo") {
          const people = allElements(definitionsOf(node))
            .filter((e) => is(e, "bpmn:UserTask") || is(e, "bpmn:ManualTask")).map((e) => e.id);
          if (!(value || "").startsWith("performer:") || !people.includes(value.slice("performer:".length))) {
            reporter.report(node.id, T(config, "assignTo must be performer:<id of a user or manual task>"));
          }
        }
      }
    },
  };
}

// Only the flow elements SpiffWorkflow runs (definitions.FLOW_ELEMENTS).
export function supportedElements(config) {
  return {
    check(node, reporter) {
      if (!is(node, "bpmn:FlowNode")) return;
      const local = node.$type.split(":")[1];
      const name = local.charAt(0).toLowerCase() + local.slice(1);
      if (config.flowElements && !config.flowElements.includes(name)) {
        reporter.report(node.id, fill(T(config, "%(name)s cannot run in petiflow"), { name: `bpmn:${name}` }));
      }
    },
  };
}

// A condition on a deciding gateway's flow is not empty (definition_checks._check_conditions);
// a timer has an expression.
export function expressionsPresent(config) {
  return {
    check(node, reporter) {
      if (is(node, "bpmn:SequenceFlow") && node.conditionExpression && node.sourceRef
          && (is(node.sourceRef, "bpmn:ExclusiveGateway") || is(node.sourceRef, "bpmn:InclusiveGateway"))
          && node.sourceRef.default !== node && !(node.conditionExpression.body || "").trim()) {
        reporter.report(node.id, T(config, "The condition is empty"));
      }
      if (is(node, "bpmn:TimerEventDefinition")) {
        const set = ["timeDate", "timeDuration", "timeCycle"].find((k) => node[k] && (node[k].body || "").trim());
        if (!set) {
          const owner = node.$parent;
          reporter.report(owner && owner.id ? owner.id : node.id, T(config, "The timer has no expression"));
        }
      }
    },
  };
}

// A lane names a role (engine.cases.lanes.role_for_lane), or its work reaches no one.
export function laneRoles(config) {
  return {
    check(node, reporter) {
      if (!is(node, "bpmn:Lane") || (node.childLaneSet && (node.childLaneSet.lanes || []).length)) return;
      const role = (node.name || "").trim().toLowerCase().replace(/[^0-9a-z]+/g, "_").replace(/^_+|_+$/g, "");
      if (!(config.roles || []).includes(role)) {
        reporter.report(node.id, fill(T(config, "Lane %(name)s names no role"), { name: JSON.stringify(node.name || "") }));
      }
    },
  };
}

export const RULES = {
  "service-task-action": serviceTaskAction,
  "task-properties": taskProperties,
  "supported-elements": supportedElements,
  "expressions-present": expressionsPresent,
  "lane-roles": laneRoles,
};
