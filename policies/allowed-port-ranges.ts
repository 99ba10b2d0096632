import type { BuiltinPolicy, Finding } from '../agent/policy/types.js';
import { answer, rangeText, readRange, specFinding, uncovered } from './common.js';

/**
 * allowed-port-ranges — every port a cluster opens must fall inside the ranges admins allow.
 *
 * settings: `ranges` (required), a list of ports or "from-to" ranges, e.g. [80, 443, "8000-9000"];
 * `protocols` (default both tcp and udp): the protocols the rule applies to. Rule: `outside-range`,
 * naming exactly the ports outside the allowed ranges.
 */
export const allowedPortRanges: BuiltinPolicy = {
  name: 'allowed-port-ranges',
  summary: 'every port must fall inside the allowed ranges',
  create(settings) {
    const allowed = (settings.ranges as (number | string)[]).map(readRange);
    const protocols = new Set((settings.protocols as string[] | undefined) ?? ['tcp', 'udp']);
    const allowedText = allowed.map(rangeText).join(', ');
    return (request) => {
      const findings: Finding[] = [];
      for (const spec of request.cluster.ports) {
        if (!protocols.has(spec.protocol)) continue;
        for (const gap of uncovered(spec, allowed)) {
          const port = rangeText(gap);
          findings.push(specFinding('outside-range', spec, `port ${port}/${spec.protocol} is outside the allowed ports (${allowedText}): use an allowed port, or ask an admin to allow it`, { port }));
        }
      }
      return answer(request, findings);
    };
  },
};
