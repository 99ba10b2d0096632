import type { BuiltinPolicy } from '../agent/policy/types.js';
import { answer } from './common.js';

/**
 * max-ports — a cluster may open at most `max` ports (ranges count each of their ports).
 *
 * settings: `max` (default 100). Rule: `too-many-ports`, at the cluster's document.
 */
export const maxPorts: BuiltinPolicy = {
  name: 'max-ports',
  summary: 'a cluster may open at most `max` ports (default 100)',
  create(settings) {
    const max = (settings.max as number | undefined) ?? 100;
    return (request) => {
      const count = request.cluster.ports.reduce((n, spec) => n + spec.to - spec.from + 1, 0);
      if (count <= max) return answer(request);
      return answer(request, [
        { rule: 'too-many-ports', message: `cluster ${request.cluster.name} opens ${count} ports, more than the ${max} allowed per cluster: narrow its ranges, or split it`, at: request.cluster.at },
      ]);
    };
  },
};
