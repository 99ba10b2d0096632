import { join } from 'node:path';
import type { Cluster, Problem, Resource, Settings } from '../model.js';
import { schemasDir } from '../paths.js';
import { baseContext, type ContextResult, TEMPLATES } from './context.js';
import { awsContext, gcpContext, nodeContext } from './context-clouds.js';
import { kubernetesContext } from './context-kubernetes.js';
import { errorText, loadTemplates } from './environment.js';
import { parseRendered } from './parse.js';
import { documentChecker } from './validate.js';

export interface RendererOptions {
  /** An operator's templates directory: a template it holds replaces the shipped one of the same name. */
  templatesDir?: string;
}

export interface RenderResult {
  resources: Resource[];
  problems: Problem[];
}

export interface Renderer {
  /** The resources a provider should hold for one checked cluster. Pure: no I/O, no clock. */
  render(cluster: Cluster, settings: Settings): RenderResult;
}

/** Reads and compiles the templates and schemas once; the renderer then renders any number of clusters. */
export function createRenderer(options: RendererOptions = {}): Renderer {
  const templates = loadTemplates(options.templatesDir);
  const checker = documentChecker(join(schemasDir(), 'rendered'));

  return {
    render(cluster, settings) {
      // No ports, nothing exposed: the provider closes whatever it held for the cluster.
      if (cluster.ports.length === 0) return { resources: [], problems: [] };
      const { template: name, context, problems } = contextFor(cluster, settings);
      if (problems.length > 0 || name === null) return { resources: [], problems };

      const compiled = templates.get(name);
      const fail = (message: string): RenderResult => ({
        resources: [],
        problems: [{ code: 'RENDER', severity: 'error', message: `${compiled.origin}, cluster ${cluster.name}: ${message}`, at: cluster.at, cluster: cluster.name }],
      });
      if ('error' in compiled) return fail(`the template does not compile: ${compiled.error}`);
      let text: string;
      try {
        text = compiled.template.render(context);
      } catch (error) {
        return fail(`rendering failed: ${errorText(error)}`);
      }
      const parsed = parseRendered(text);
      if ('error' in parsed) return fail(`the output is not valid YAML: ${parsed.error}`);

      const resources: Resource[] = [];
      for (const doc of parsed.docs) {
        const checked = checker.check(doc, cluster.cloud, cluster.name);
        if ('error' in checked) return fail(checked.error);
        const id = `${cluster.cloud}/${cluster.name}/${checked.kind}/${checked.name}`;
        if (resources.some((r) => r.id === id)) return fail(`two ${checked.kind} objects are named ${checked.name}`);
        resources.push({ id, cloud: cluster.cloud, cluster: cluster.name, kind: checked.kind, name: checked.name, body: checked.body });
      }
      return { resources, problems: [] };
    },
  };
}

/** Which template renders a cluster, with what context; MODE_UNSUPPORTED problems when it cannot be done. */
export function contextFor(cluster: Cluster, settings: Settings): ContextResult {
  const base = baseContext(cluster, settings);
  switch (cluster.cloud) {
    case 'kubernetes':
      return kubernetesContext(base, cluster, settings);
    case 'aws':
      return { template: TEMPLATES.aws, context: awsContext(base, cluster, settings), problems: [] };
    case 'gcp':
      return { template: TEMPLATES.gcp, context: gcpContext(base, cluster, settings), problems: [] };
    case 'node':
      return nodeContext(base, cluster);
  }
}
