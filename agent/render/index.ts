// The render phase: one checked cluster plus settings in, the resources its provider should hold out.
export { createRenderer, contextFor, type Renderer, type RendererOptions, type RenderResult } from './render.js';
export { dnsname, q, shortHash } from './filters.js';
export { TEMPLATES, ownershipLabels, MANAGED_BY_LABEL, CLUSTER_LABEL, type TemplateName, type TemplateContext } from './context.js';
export { KINDS } from './validate.js';
export { awsRuleDescription } from './context-clouds.js';
