// The engine's pure core, as the commands and the agent use it: plan, resource diff, last good state.
export { planBetween, type PlanSide } from './diff.js';
export { diffResources, isEqualJson } from './resource-diff.js';
export { withLastGood } from './last-good.js';
export { formatChange } from './change-line.js';
export { planText, shortRevision } from './plan-text.js';
export { planJson, planToJson, problemJson, type PlanJson, type PlanJsonChange, type PlanJsonProblem } from './plan-json.js';
