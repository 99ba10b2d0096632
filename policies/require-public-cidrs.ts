import type { PortSpec } from '../agent/model.js';
import type { BuiltinPolicy, Finding } from '../agent/policy/types.js';
import { effectiveSources } from '../agent/render/sources.js';
import { cidrWithin } from './cidr-within.js';
import { answer, reachableFromAnywhere, specFinding, withCluster } from './common.js';

/**
 * require-public-cidrs — a public port may only be reached from the networks admins list.
 *
 * settings: `cidrs` (required): the networks public ports may be open to (a partner's range, the
 * office, a CDN). `narrow` (default false): instead of rejecting a public port open to anywhere, narrow
 * it to `cidrs` — the change shows in `render` and `plan`. Rules: `open-to-anywhere` (a public port
 * without cidrs), `cidr-not-allowed` (a public port's cidr outside every listed network).
 */
export const requirePublicCidrs: BuiltinPolicy = {
  name: 'require-public-cidrs',
  summary: 'public ports may only be open to the listed networks (optionally narrowing them)',
  create(settings) {
    const allowed = settings.cidrs as string[];
    const narrow = settings.narrow === true;
    const listed = allowed.join(', ');
    return (request) => {
      const findings: Finding[] = [];
      let narrowed = false;
      const ports = request.cluster.ports.map((spec): PortSpec => {
        if (spec.exposure !== 'public') return spec;
        if (reachableFromAnywhere(spec, request.settings)) {
          if (narrow) {
            narrowed = true;
            return { ...spec, cidrs: [...allowed].sort() };
          }
          findings.push(specFinding('open-to-anywhere', spec, `public port ${spec.protocol} ${spec.from === spec.to ? spec.from : `${spec.from}-${spec.to}`} is open to anywhere: add cidrs within ${listed}`));
          return spec;
        }
        for (const cidr of effectiveSources(spec, request.settings)) {
          if (!allowed.some((outer) => cidrWithin(cidr, outer))) {
            findings.push(specFinding('cidr-not-allowed', spec, `public port ${spec.protocol} ${spec.from === spec.to ? spec.from : `${spec.from}-${spec.to}`} is open to ${cidr}, which is outside the allowed networks (${listed})`, { cidr }));
          }
        }
        return spec;
      });
      return answer(narrowed ? withCluster(request, { ...request.cluster, ports }) : request, findings);
    };
  },
};
