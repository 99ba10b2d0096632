import type { Resource, ResourceChange, Settings } from '../model.js';

export interface GuardVerdict {
  allowed: boolean;
  /** Ports open now, in resources portcullis owns. */
  open: number;
  /** Ports this pass would close. */
  closing: number;
  message?: string;
}

/**
 * A pass that would close every open port, or more than `max_close_share` of them, is far more often a
 * mistake (a bad merge, a wrong branch, an emptied directory) than an intent: it stops unless told otherwise.
 */
export function guardCloses(changes: readonly ResourceChange[], portsOf: (resource: Resource) => number, guard: Settings['guard'], allowMassClose = false): GuardVerdict {
  let open = 0;
  let closing = 0;
  for (const change of changes) {
    const before = change.actual ? portsOf(change.actual) : 0;
    open += before;
    if (change.action === 'deleted') closing += before;
    else if (change.action === 'configured' && change.desired) closing += Math.max(0, before - portsOf(change.desired));
  }
  const verdict = { open, closing };
  if (closing === 0 || allowMassClose || guard.allow_mass_close) return { allowed: true, ...verdict };
  const share = closing / open;
  if (closing >= open) {
    return { allowed: false, ...verdict, message: `this pass would close all ${open} open ports: refusing. If that is what Git asks for, run with --allow-mass-close (or set guard.allow_mass_close: true) for this change.` };
  }
  if (share > guard.max_close_share) {
    const pct = (n: number) => `${Math.round(n * 100)}%`;
    return {
      allowed: false,
      ...verdict,
      message: `this pass would close ${closing} of ${open} open ports (${pct(share)}, more than guard.max_close_share ${pct(guard.max_close_share)}): refusing. Check the revision; if it is right, run with --allow-mass-close.`,
    };
  }
  return { allowed: true, ...verdict };
}
