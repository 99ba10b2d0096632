import type { Cluster, DesiredState } from '../model.js';
import { compareText } from './diff.js';

/**
 * Clusters to act on: head's good clusters, plus each previous cluster that head could not read
 * (its file is in head.brokenFiles, or its name is in head.brokenClusters) and head does not define.
 *
 * A manifest that fails to load, check or pass policy must not close its ports: a typo is not an
 * intent to close. Only a cluster whose manifest is gone, or that a readable manifest no longer
 * names, is left out, and so closes.
 */
export function withLastGood(
  previous: readonly Cluster[],
  head: Pick<DesiredState, 'clusters' | 'brokenFiles' | 'brokenClusters'>,
): { clusters: Cluster[]; kept: string[] } {
  const defined = new Set(head.clusters.map((c) => c.name));
  const brokenFiles = new Set(head.brokenFiles);
  const brokenClusters = new Set(head.brokenClusters);
  const keep = new Map<string, Cluster>();
  for (const c of previous) {
    if (defined.has(c.name) || keep.has(c.name)) continue;
    if (brokenFiles.has(c.at.file) || brokenClusters.has(c.name)) keep.set(c.name, c);
  }
  return {
    clusters: [...head.clusters, ...keep.values()].sort((a, b) => compareText(a.name, b.name)),
    kept: [...keep.keys()].sort(compareText),
  };
}
