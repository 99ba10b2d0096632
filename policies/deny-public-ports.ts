import type { BuiltinPolicy, Finding } from '../agent/policy/types.js';
import { answer, overlaps, rangeText, reachableFromAnywhere, readRange, specFinding } from './common.js';

/** Remote shells and databases: what scanners look for first. */
export const DEFAULT_DENIED_PORTS: readonly number[] = [22, 23, 3389, 5900, 1433, 1521, 2379, 3306, 5432, 5984, 6379, 9042, 9200, 11211, 27017];

/**
 * deny-public-ports — no port from a list may be reachable from anywhere.
 *
 * settings: `ports` (default: ssh 22, telnet 23, RDP 3389, VNC 5900 and common databases: 1433, 1521,
 * 2379, 3306, 5432, 5984, 6379, 9042, 9200, 11211, 27017), each a port or a "from-to" range.
 * A listed port is fine when it is private, or when `cidrs` narrow who may connect; only "anyone on the
 * internet" is denied. Rule: `public-port`.
 */
export const denyPublicPorts: BuiltinPolicy = {
  name: 'deny-public-ports',
  summary: 'no listed port (default: 22, 3389, databases) may be reachable from anywhere',
  create(settings) {
    const denied = ((settings.ports as (number | string)[] | undefined) ?? DEFAULT_DENIED_PORTS).map(readRange);
    return (request) => {
      const findings: Finding[] = [];
      for (const spec of request.cluster.ports) {
        if (!reachableFromAnywhere(spec, request.settings)) continue;
        for (const hit of overlaps(spec, denied)) {
          const port = rangeText(hit);
          findings.push(
            specFinding('public-port', spec, `port ${port}/${spec.protocol} of cluster ${request.cluster.name} is open to anywhere, which admins do not allow for it: make it private, or narrow it with cidrs`, { port }),
          );
        }
      }
      return answer(request, findings);
    };
  },
};
