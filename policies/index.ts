// The built-in admin policies, by the name `admin_policy` uses for them. Each is documented in its file
// and in policies/README.md; schemas/settings.schema.json holds each one's settings.
import type { BuiltinPolicy } from '../agent/policy/types.js';
import { addLabels } from './add-labels.js';
import { allowedClouds } from './allowed-clouds.js';
import { allowedPortRanges } from './allowed-port-ranges.js';
import { denyPublicPorts } from './deny-public-ports.js';
import { internalLoadBalancers } from './internal-load-balancers.js';
import { maxPorts } from './max-ports.js';
import { requirePublicCidrs } from './require-public-cidrs.js';

export const BUILTIN_POLICIES: ReadonlyMap<string, BuiltinPolicy> = new Map(
  [denyPublicPorts, allowedPortRanges, requirePublicCidrs, maxPorts, allowedClouds, internalLoadBalancers, addLabels].map((p) => [p.name, p]),
);
