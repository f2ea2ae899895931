// petiflow's properties in the bpmn-js properties panel: what the engine reads from a diagram.
//
//   lanes            the role whose holders get the lane's work (engine/cases/lanes.py: 'Agency Liaison' -> agency_liaison)
//   user tasks       spiffworkflow:property formJsonSchemaFilename, assignTo, assigneeVariable, agencyVariable,
//                    escalate, deadline (engine/workflow/runner.py, definitions.py)
//   service tasks    spiffworkflow:serviceTaskOperator id (the engine action), resultVariable and its parameters
//   script tasks     bpmn:script; any task: spiffworkflow:preScript / postScript
//   flows            the condition of a flow out of an exclusive or inclusive gateway
//   timer events     timeDate, timeDuration or timeCycle, an expression over the task data
//   decisions        spiffworkflow:calledDecisionId of a business rule task
import { h } from "@bpmn-io/properties-panel/preact";
import {
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited,
  ListGroup,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const PRIORITY = 500;
const MULTI = "properties-panel.multi-command-executor";

// --- reading and writing spiffworkflow extension elements ---------------------------------

function extension(bo, type) {
  return ((bo.extensionElements && bo.extensionElements.values) || []).find((v) => is(v, type));
}

// Commands that make sure bo has extensionElements holding an element of `type`; returns [commands, that element].
function ensureExtension(element, bo, type, bpmnFactory, attrs = {}) {
  const commands = [];
  let ext = bo.extensionElements;
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    commands.push(update(element, bo, { extensionElements: ext }));
  }
  let found = (ext.values || []).find((v) => is(v, type));
  if (!found) {
    found = bpmnFactory.create(type, attrs);
    found.$parent = ext;
    commands.push(update(element, ext, { values: [...(ext.values || []), found] }));
  }
  return [commands, found];
}

function update(element, moddleElement, properties) {
  return { cmd: "element.updateModdleProperties", context: { element, moddleElement, properties } };
}

function removeExtension(element, bo, found) {
  const ext = bo.extensionElements;
  return update(element, ext, { values: ext.values.filter((v) => v !== found) });
}

export function spiffProperty(bo, name) {
  const props = extension(bo, "spiffworkflow:Properties");
  const prop = props && (props.values || []).find((p) => p.name === name);
  return prop ? prop.value || "" : "";
}

function setSpiffProperty(injector, element, name, value) {
  const bpmnFactory = injector.get("bpmnFactory");
  const bo = getBusinessObject(element);
  const existing = extension(bo, "spiffworkflow:Properties");
  const prop = existing && (existing.values || []).find((p) => p.name === name);
  let commands = [];
  if (!value) {
    if (!prop) return;
    const left = existing.values.filter((p) => p !== prop);
    commands.push(left.length ? update(element, existing, { values: left }) : removeExtension(element, bo, existing));
  } else if (prop) {
    commands.push(update(element, prop, { value }));
  } else {
    const [made, props] = ensureExtension(element, bo, "spiffworkflow:Properties", bpmnFactory, { values: [] });
    const created = bpmnFactory.create("spiffworkflow:Property", { name, value });
    created.$parent = props;
    commands = [...made, update(element, props, { values: [...(props.values || []), created] })];
  }
  injector.get("commandStack").execute(MULTI, commands);
}

function bodyOf(bo, type) {
  const found = extension(bo, type);
  return found ? found.value || "" : "";
}

function setBody(injector, element, type, value) {
  const bpmnFactory = injector.get("bpmnFactory");
  const bo = getBusinessObject(element);
  const found = extension(bo, type);
  let commands;
  if (!value) {
    if (!found) return;
    commands = [removeExtension(element, bo, found)];
  } else if (found) {
    commands = [update(element, found, { value })];
  } else {
    const [made, created] = ensureExtension(element, bo, type, bpmnFactory, { value });
    commands = made.length ? made : [update(element, created, { value })];
  }
  injector.get("commandStack").execute(MULTI, commands);
}

// --- entries --------------------------------------------------------------------------------

function text(id, label, getValue, setValue, { description, area = false, monospace = false } = {}) {
  return {
    id,
    isEdited: area ? isTextAreaEntryEdited : isTextFieldEntryEdited,
    component: function Entry({ element }) {
      const debounce = useService("debounceInput");
      const injector = useService("injector");
      const props = {
        element, id, label, description, debounce,
        getValue: () => getValue(element),
        setValue: (value) => setValue(injector, element, value),
      };
      return area ? h(TextAreaEntry, { ...props, monospace, rows: 3, autoResize: true }) : h(TextFieldEntry, props);
    },
  };
}

function select(id, label, getValue, setValue, getOptions, description) {
  return {
    id,
    isEdited: isSelectEntryEdited,
    component: function Entry({ element }) {
      const injector = useService("injector");
      return h(SelectEntry, {
        element, id, label, description,
        getValue: () => getValue(element),
        setValue: (value) => setValue(injector, element, value),
        getOptions: () => getOptions(element, injector),
      });
    },
  };
}

function property(id, name, label, description) {
  return text(id, label, (el) => spiffProperty(getBusinessObject(el), name),
    (injector, el, value) => setSpiffProperty(injector, el, name, value.trim()), { description });
}

function propertyChoice(id, name, label, choices, t, description) {
  return select(id, label, (el) => spiffProperty(getBusinessObject(el), name),
    (injector, el, value) => setSpiffProperty(injector, el, name, value),
    () => [{ value: "", label: t("(not set)") }, ...choices.map((c) => ({ value: c, label: c }))], description);
}

function script(id, type, label, description) {
  return text(id, label, (el) => bodyOf(getBusinessObject(el), type),
    (injector, el, value) => setBody(injector, el, type, value), { area: true, monospace: true, description });
}

// The lane name a role is written as: agency_liaison -> 'Agency Liaison'.
export function laneName(role) {
  return role.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
}

// engine.cases.lanes.role_for_lane
export function roleForLane(name) {
  return (name || "").trim().toLowerCase().replace(/[^0-9a-z]+/g, "_").replace(/^_+|_+$/g, "");
}

function personTasks(injector) {
  return injector.get("elementRegistry")
    .filter((e) => (is(e, "bpmn:UserTask") || is(e, "bpmn:ManualTask")) && e.type !== "label")
    .map((e) => e.id).sort();
}

// --- the provider ---------------------------------------------------------------------------

function groupsFor(element, settings, t) {
  const bo = getBusinessObject(element);
  const groups = [];
  if (is(element, "bpmn:Lane")) {
    groups.push({
      id: "petiflow-lane", label: t("Who works this lane"),
      entries: [select("petiflow-lane-role", t("Role"), (el) => roleForLane(getBusinessObject(el).name),
        (injector, el, value) => injector.get("modeling").updateProperties(el, { name: value ? laneName(value) : "" }),
        (el) => {
          const current = roleForLane(getBusinessObject(el).name);
          const known = settings.roles.map(([code, label]) => ({ value: code, label: `${label} (${code})` }));
          const extra = current && !settings.roles.some(([code]) => code === current)
            ? [{ value: current, label: `${current} — ${t("not a role")}` }] : [];
          return [{ value: "", label: t("(no role)") }, ...known, ...extra];
        }, t("The lane's name names the role; its work goes to the holders of that role."))],
    });
  }
  if (is(element, "bpmn:UserTask")) {
    groups.push({
      id: "petiflow-user-task", label: t("Form and assignment"),
      entries: [
        select("petiflow-form", t("Form (JSON Schema)"), (el) => spiffProperty(getBusinessObject(el), "formJsonSchemaFilename"),
          (injector, el, value) => setSpiffProperty(injector, el, "formJsonSchemaFilename", value),
          (el) => {
            const current = spiffProperty(getBusinessObject(el), "formJsonSchemaFilename");
            const names = settings.forms.includes(current) || !current ? settings.forms : [...settings.forms, current];
            return [{ value: "", label: t("(no form)") }, ...names.map((f) => ({ value: f, label: f }))];
          }, t("formJsonSchemaFilename: a form in workflows/forms/")),
        select("petiflow-assign-to", t("Goes to who last did"), (el) => spiffProperty(getBusinessObject(el), "assignTo"),
          (injector, el, value) => setSpiffProperty(injector, el, "assignTo", value),
          (el, injector) => [{ value: "", label: t("(the lane's group)") },
            ...personTasks(injector).map((id) => ({ value: `performer:${id}`, label: `performer:${id}` }))],
          t("assignTo: the person who last completed that task of the case")),
        property("petiflow-assignee-variable", "assigneeVariable", t("Assignee variable"),
          t("assigneeVariable: a variable holding the user id the work goes to")),
        property("petiflow-agency-variable", "agencyVariable", t("Agency variable"),
          t("agencyVariable: a variable holding the code of the agency whose work this is")),
        propertyChoice("petiflow-escalate", "escalate", t("Reminders and escalation"), settings.choices.escalate || [], t),
        propertyChoice("petiflow-deadline", "deadline", t("Due time"), settings.choices.deadline || [], t),
      ],
    });
  }
  if (is(element, "bpmn:ServiceTask")) {
    groups.push(...serviceTaskGroups(element, settings, t));
  }
  if (is(element, "bpmn:ScriptTask")) {
    groups.push({
      id: "petiflow-script", label: t("Script"),
      entries: [text("petiflow-script-body", t("Script (Python, restricted)"), (el) => getBusinessObject(el).script || "",
        (injector, el, value) => injector.get("modeling").updateProperties(el, { script: value }),
        { area: true, monospace: true })],
    });
  }
  if (is(element, "bpmn:BusinessRuleTask")) {
    groups.push({
      id: "petiflow-decision", label: t("Decision table"),
      entries: [text("petiflow-decision-id", t("Decision id"), (el) => bodyOf(getBusinessObject(el), "spiffworkflow:CalledDecisionId"),
        (injector, el, value) => setBody(injector, el, "spiffworkflow:CalledDecisionId", value.trim()),
        { description: t("calledDecisionId: a decision of a DMN file deployed with the process") })],
    });
  }
  if (is(element, "bpmn:Activity") && !is(element, "bpmn:SubProcess")) {
    groups.push({
      id: "petiflow-scripts", label: t("Scripts before and after"),
      entries: [
        script("petiflow-pre-script", "spiffworkflow:PreScript", t("Before the task (preScript)")),
        script("petiflow-post-script", "spiffworkflow:PostScript", t("After the task (postScript)")),
      ],
    });
  }
  if (is(element, "bpmn:SequenceFlow") && bo.sourceRef
      && (is(bo.sourceRef, "bpmn:ExclusiveGateway") || is(bo.sourceRef, "bpmn:InclusiveGateway"))) {
    const isDefault = bo.sourceRef.default === bo;
    groups.push({
      id: "petiflow-condition", label: t("Condition"),
      entries: isDefault ? [] : [text("petiflow-condition-body", t("Taken when (expression)"),
        (el) => (getBusinessObject(el).conditionExpression || {}).body || "",
        (injector, el, value) => {
          const expression = value.trim()
            ? injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value }) : undefined;
          injector.get("modeling").updateProperties(el, { conditionExpression: expression });
        }, { area: true, monospace: true, description: t("A Python expression over the task data, e.g. action == \"transfer\"") })],
    });
    if (isDefault) groups[groups.length - 1].entries.push(note("petiflow-default-flow", t("The gateway's default flow: taken when no other flow's condition holds.")));
  }
  const timer = ((bo.eventDefinitions || []).find((d) => is(d, "bpmn:TimerEventDefinition")));
  if (timer) {
    groups.push(timerGroup(timer, t));
  }
  return groups;
}

function note(id, message) {
  return { id, component: () => h("p", { class: "petiflow-panel-note" }, message) };
}

const TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];

function timerGroup(timer, t) {
  const kindOf = () => TIMER_KINDS.find((k) => timer[k]) || "timeDate";
  const labels = { timeDate: t("At a date and time"), timeDuration: t("After a duration"), timeCycle: t("Repeatedly") };
  return {
    id: "petiflow-timer", label: t("Timer"),
    entries: [
      select("petiflow-timer-kind", t("Fires"), kindOf, (injector, el, kind) => {
        const current = kindOf();
        if (kind === current) return;
        const body = (timer[current] || {}).body || "";
        const expression = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body });
        injector.get("modeling").updateModdleProperties(el, timer, { [current]: undefined, [kind]: expression });
      }, () => TIMER_KINDS.map((k) => ({ value: k, label: labels[k] }))),
      text("petiflow-timer-expression", t("When (expression)"), () => (timer[kindOf()] || {}).body || "",
        (injector, el, value) => {
          const expression = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value });
          injector.get("modeling").updateModdleProperties(el, timer, { [kindOf()]: expression });
        }, { monospace: true, description: t("A Python expression over the task data, e.g. reply_due (an ISO date) or \"P3D\"") }),
    ],
  };
}

function operatorOf(bo) {
  return extension(bo, "spiffworkflow:ServiceTaskOperator");
}

function setOperator(injector, element, attrs) {
  const bpmnFactory = injector.get("bpmnFactory");
  const bo = getBusinessObject(element);
  const [made, operator] = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator", bpmnFactory, {});
  injector.get("commandStack").execute(MULTI, [...made, update(element, operator, attrs)]);
}

function serviceTaskGroups(element, settings, t) {
  const bo = getBusinessObject(element);
  const operator = operatorOf(bo);
  const action = {
    id: "petiflow-action", label: t("Engine action"),
    entries: [
      select("petiflow-action-name", t("Action"), (el) => (operatorOf(getBusinessObject(el)) || {}).id || "",
        (injector, el, value) => setOperator(injector, el, { id: value || undefined }),
        (el) => {
          const current = (operatorOf(getBusinessObject(el)) || {}).id;
          const names = Object.keys(settings.actions);
          const extra = current && !names.includes(current) ? [{ value: current, label: `${current} — ${t("not an engine action")}` }] : [];
          return [{ value: "", label: t("(choose an action)") }, ...names.map((n) => ({ value: n, label: n })), ...extra];
        }, operator && settings.actions[operator.id] ? settings.actions[operator.id] : t("What the engine does when the case reaches this task")),
      text("petiflow-result-variable", t("Result variable"), (el) => (operatorOf(getBusinessObject(el)) || {}).resultVariable || "",
        (injector, el, value) => setOperator(injector, el, { resultVariable: value.trim() || undefined }),
        { description: t("Where the action's result is kept, e.g. deadline for the deadline actions") }),
    ],
  };
  const parameters = (operator && operator.parameterList && operator.parameterList.values) || [];
  const list = {
    id: "petiflow-parameters", label: t("Action parameters"), component: ListGroup,
    items: parameters.map((param, index) => ({
      id: `petiflow-parameter-${index}`,
      label: param.id || t("(unnamed)"),
      autoFocusEntry: `petiflow-parameter-${index}-name`,
      remove: () => withInjector(element, (injector) => injector.get("commandStack").execute(MULTI,
        [update(element, operator.parameterList, { values: operator.parameterList.values.filter((p) => p !== param) })])),
      entries: [
        text(`petiflow-parameter-${index}-name`, t("Name"), () => param.id || "",
          (injector, el, value) => injector.get("modeling").updateModdleProperties(el, param, { id: value.trim() })),
        text(`petiflow-parameter-${index}-value`, t("Value (expression)"), () => param.value || "",
          (injector, el, value) => injector.get("modeling").updateModdleProperties(el, param, { value }),
          { monospace: true, description: t("A Python expression: \"text\" in quotes, or a variable's name") }),
      ],
    })),
    add: (event) => {
      event.stopPropagation();
      withInjector(element, (injector) => {
        const bpmnFactory = injector.get("bpmnFactory");
        const [made, op] = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator", bpmnFactory, {});
        const commands = [...made];
        let holder = op.parameterList;
        if (!holder) {
          holder = bpmnFactory.create("spiffworkflow:Parameters", { values: [] });
          holder.$parent = op;
          commands.push(update(element, op, { parameterList: holder }));
        }
        const param = bpmnFactory.create("spiffworkflow:Parameter", { id: `param_${(holder.values || []).length + 1}`, type: "str", value: "" });
        param.$parent = holder;
        commands.push(update(element, holder, { values: [...(holder.values || []), param] }));
        injector.get("commandStack").execute(MULTI, commands);
      });
    },
  };
  return [action, list];
}

// The injector of the modeler that shows `element` (set when the provider is made).
let currentInjector = null;
function withInjector(_element, fn) {
  fn(currentInjector);
}

export default function PetiflowPropertiesProvider(propertiesPanel, injector, translate, config) {
  currentInjector = injector;
  const settings = (config && config.petiflow) || { roles: [], forms: [], actions: {}, choices: {} };
  // bpmn-js's own timer group is replaced by petiflow's, which says timers are expressions.
  this.getGroups = (element) => (groups) => [...groups.filter((g) => g.id !== "timer"),
    ...groupsFor(element, settings, translate)];
  propertiesPanel.registerProvider(PRIORITY, this);
}
PetiflowPropertiesProvider.$inject = ["propertiesPanel", "injector", "translate", "config"];

export const PetiflowPropertiesModule = {
  __init__: ["petiflowPropertiesProvider"],
  petiflowPropertiesProvider: ["type", PetiflowPropertiesProvider],
};
