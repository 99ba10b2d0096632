import type { BuiltinPolicy } from '../agent/policy/types.js';
import { answer, withCluster } from './common.js';

/**
 * add-labels — adds labels to every object rendered for a cluster (SkyPilot's AddLabelsPolicy).
 *
 * settings: `labels` (required), a map of label to value. The admin's value wins over a label of the
 * same name in a manifest; portcullis's own ownership labels always win over both. Never rejects.
 */
export const addLabels: BuiltinPolicy = {
  name: 'add-labels',
  summary: 'adds labels to every object rendered for a cluster',
  create(settings) {
    const labels = settings.labels as Record<string, string>;
    return (request) => {
      const cluster = request.cluster;
      if (Object.entries(labels).every(([k, v]) => cluster.labels[k] === v)) return answer(request);
      return answer(withCluster(request, { ...cluster, labels: { ...cluster.labels, ...labels } }));
    };
  },
};
