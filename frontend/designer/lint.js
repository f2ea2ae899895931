// The lint configuration the modeler runs as the designer draws (bpmn-js-bpmnlint): bpmnlint's
// own rules that matter to a runnable diagram, and petiflow's (lint-rules.js). Built here as a
// module rather than from a .bpmnlintrc, so the bundler needs no plugin: the rules are imported
// and handed to bpmnlint's static resolver, keyed as bpmnlint resolves them.
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";
import conditionalFlows from "bpmnlint/rules/conditional-flows";
import endEventRequired from "bpmnlint/rules/end-event-required";
import eventBasedGateway from "bpmnlint/rules/event-based-gateway";
import fakeJoin from "bpmnlint/rules/fake-join";
import labelRequired from "bpmnlint/rules/label-required";
import noComplexGateway from "bpmnlint/rules/no-complex-gateway";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";
import singleBlankStartEvent from "bpmnlint/rules/single-blank-start-event";
import singleEventDefinition from "bpmnlint/rules/single-event-definition";
import startEventRequired from "bpmnlint/rules/start-event-required";
import subProcessBlankStartEvent from "bpmnlint/rules/sub-process-blank-start-event";
import superfluousGateway from "bpmnlint/rules/superfluous-gateway";

import { RULES } from "./lint-rules.js";

// bpmnlint's rules and how much each matters here.
const BPMNLINT = {
  "conditional-flows": [conditionalFlows, "error"],
  "end-event-required": [endEventRequired, "error"],
  "event-based-gateway": [eventBasedGateway, "error"],
  "fake-join": [fakeJoin, "warn"],
  "label-required": [labelRequired, "error"],
  "no-complex-gateway": [noComplexGateway, "error"],
  "no-disconnected": [noDisconnected, "error"],
  "no-duplicate-sequence-flows": [noDuplicateSequenceFlows, "error"],
  "no-implicit-split": [noImplicitSplit, "warn"],
  "single-blank-start-event": [singleBlankStartEvent, "error"],
  "single-event-definition": [singleEventDefinition, "error"],
  "start-event-required": [startEventRequired, "error"],
  "sub-process-blank-start-event": [subProcessBlankStartEvent, "error"],
  "superfluous-gateway": [superfluousGateway, "warn"],
};

// petiflow's rules: what deployment refuses is an error; a lane without a role a warning.
const PETIFLOW = {
  "service-task-action": "error",
  "task-properties": "error",
  "supported-elements": "error",
  "expressions-present": "error",
  "lane-roles": "warn",
};

// { config, resolver } for bpmn-js-bpmnlint; `settings` is what the page says of this installation.
export function lintConfig(settings) {
  const cache = {};
  const rules = {};
  for (const [name, [factory, level]] of Object.entries(BPMNLINT)) {
    cache[`rule:bpmnlint/${name}`] = factory;
    rules[`bpmnlint/${name}`] = level;
  }
  const ruleConfig = {
    actions: Object.keys(settings.actions || {}), forms: settings.forms || [], choices: settings.choices || {},
    flowElements: settings.flowElements, roles: (settings.roles || []).map(([code]) => code), messages: settings.messages,
  };
  for (const [name, level] of Object.entries(PETIFLOW)) {
    cache[`rule:bpmnlint-plugin-petiflow/${name}`] = RULES[name];
    rules[`petiflow/${name}`] = [level, ruleConfig];
  }
  return { config: { rules }, resolver: new StaticResolver(cache) };
}
