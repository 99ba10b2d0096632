import type { PortSpec, Settings } from '../model.js';

/** What "public, no cidrs" means: anyone, over IPv4 and IPv6. */
export const ANYONE: readonly string[] = ['0.0.0.0/0', '::/0'];

/** Who may connect to a port spec: its own cidrs, else anyone when public, else the settings' private cidrs. */
export function effectiveSources(spec: PortSpec, settings: Settings): string[] {
  if (spec.cidrs.length > 0) return [...spec.cidrs];
  return spec.exposure === 'public' ? [...ANYONE] : [...settings.private_cidrs];
}

export const isIpv6 = (cidr: string): boolean => cidr.includes(':');

/** A key equal for two source lists that allow the same sources, whatever their order. */
export const sourcesKey = (sources: readonly string[]): string => [...new Set(sources)].sort().join(',');

export const isAnyone = (sources: readonly string[]): boolean => sourcesKey(sources) === sourcesKey(ANYONE);

/** `"80"` or `"10020-10040"`. */
export const rangeText = (spec: { from: number; to: number }): string => (spec.from === spec.to ? String(spec.from) : `${spec.from}-${spec.to}`);

/** How a spec's sources read in a message. */
export const describeSources = (sources: readonly string[]): string => (isAnyone(sources) ? 'anywhere' : sources.join(', '));
