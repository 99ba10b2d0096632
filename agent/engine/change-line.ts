import type { Exposure, PortAction, PortChange } from '../model.js';

const SYMBOL: Record<PortAction, string> = { close: '-', open: '+', change: '~' };

/** The ports column with its trailing gap: `10020-10040` and short lists line up; longer ones push the rest along. */
const PORTS_WIDTH = 15;

/**
 * The one-line form of a port change: what `plan` prints under the cluster's heading, and what logs and
 * the pull-request comment print, so the three never disagree. For example
 * `~ change tcp 443            private → PUBLIC  (clusters/ml.yaml:12:9)`.
 *
 * Public exposure is always written `PUBLIC`, in capitals, wherever a port is, was or becomes reachable
 * from anywhere: the one thing a reviewer must not miss.
 */
export function formatChange(change: PortChange): string {
  const ports = change.ports.join(', ');
  const column = ports.length < PORTS_WIDTH ? ports.padEnd(PORTS_WIDTH) : `${ports} `;
  const parts = [`${SYMBOL[change.action]} ${change.action.padEnd(6)} ${change.protocol} ${column}${exposureText(change)}`];
  if (change.reason !== undefined) parts.push(change.reason);
  if (change.at) parts.push(`(${change.at.file}:${change.at.line}:${change.at.col})`);
  return parts.join('  ');
}

/** `private  from 10.0.0.0/8`; for a change, what it was and what it becomes. */
function exposureText(change: PortChange): string {
  const after = side(change.exposure, change.cidrs);
  const before = change.before;
  if (!before || change.reason !== undefined) return after;
  if (sameList(before.cidrs, change.cidrs)) return `${exposure(before.exposure)} → ${after}`;
  return `${side(before.exposure, before.cidrs)} → ${after}`;
}

function side(value: Exposure, cidrs: readonly string[]): string {
  return cidrs.length > 0 ? `${exposure(value)}  from ${cidrs.join(',')}` : exposure(value);
}

function exposure(value: Exposure): string {
  return value === 'public' ? 'PUBLIC' : value;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
