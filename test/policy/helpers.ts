import { desiredState } from '../../agent/engine/desired.js';
import type { DesiredState, Violation } from '../../agent/model.js';
import { violationLine } from '../../agent/policy/index.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from '../helpers/repo.js';

const renderer = createRenderer();

/** The desired state of a repo of one settings file and some manifests, built-in policies run. */
export function stateOf(config: string, clusters: Record<string, string>): DesiredState {
  const files: Record<string, string> = { 'config.yaml': config };
  for (const [name, text] of Object.entries(clusters)) files[`clusters/${name}.yaml`] = text;
  return desiredState(snapshotOf(files), renderer);
}

/** Violations as they print, for assertions that read like the output. */
export const lines = (violations: readonly Violation[] | undefined): string[] => (violations ?? []).map(violationLine);

export const nodeCluster = (name: string, ports: string, extra = ''): string => `name: ${name}\ncloud: node\nnode: {address: 10.0.0.2}\n${extra}resources:\n  ports: ${ports}\n`;
export const kubeCluster = (name: string, ports: string, kube = 'namespace: ml'): string => `name: ${name}\ncloud: kubernetes\nkubernetes: {${kube}}\nresources:\n  ports: ${ports}\n`;
