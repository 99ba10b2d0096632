import { loadRepo, type LoadOptions } from '../manifest/load.js';
import type { DesiredState, Problem, Resource, Snapshot } from '../model.js';
import type { Renderer } from '../render/index.js';

/**
 * The pure half of a pass: load → check → (admit) → render. Data in, data out: no I/O, no clock.
 * A cluster whose rendering fails is reported and treated like a broken manifest (it keeps its last good state).
 */
export function desiredState(snapshot: Snapshot, renderer: Renderer, options: LoadOptions = {}): DesiredState {
  const loaded = loadRepo(snapshot, options);
  const problems: Problem[] = [...loaded.problems];
  const brokenClusters = new Set(loaded.brokenClusters);
  const clusters = [];
  const resources: Resource[] = [];
  for (const cluster of loaded.clusters) {
    const rendered = renderer.render(cluster, loaded.settings);
    if (rendered.problems.length > 0) {
      problems.push(...rendered.problems);
      brokenClusters.add(cluster.name);
      continue;
    }
    clusters.push(cluster);
    for (const resource of rendered.resources) resources.push(resource);
  }
  return {
    revision: snapshot.revision,
    settings: loaded.settings,
    settingsOk: loaded.settingsOk,
    clusters,
    resources,
    problems,
    brokenFiles: loaded.brokenFiles,
    brokenClusters: [...brokenClusters].sort(),
  };
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
