import { createHash } from 'node:crypto';
import type { PortRangeSetting } from '../../model.js';

export interface BlockRequest {
  /** The forward's stable resource id. */
  id: string;
  /** How many consecutive node ports it needs (a range forwards port by port). */
  size: number;
}

export type Allocation = { ok: true; start: number } | { ok: false; reason: string };

/**
 * Gives each forward a block of node ports. A forward keeps the block it is observed with, so ports stay
 * put across passes and restarts; a new one starts looking at a place derived from its id and takes the
 * first free block from there, wrapping around. So forwards allocated together get the same ports again
 * with nothing observed (as after a userspace restart); but when two ids prefer the same place, the one
 * that came first holds it, and with nothing observed the one first by id does: they may trade ports.
 */
export function allocateBlocks(
  requests: readonly BlockRequest[],
  observed: ReadonlyMap<string, { start: number; size: number }>,
  range: PortRangeSetting,
  /** Blocks of forwards that stay as they are without being allocated now: no request may take their ports. */
  reserved: readonly { start: number; size: number }[] = [],
): Map<string, Allocation> {
  const span = range.to - range.from + 1;
  const used = new Uint8Array(span);
  const result = new Map<string, Allocation>();
  const mark = (start: number, size: number) => used.fill(1, start - range.from, start - range.from + size);
  const free = (start: number, size: number) => {
    if (start < range.from || start + size - 1 > range.to) return false;
    for (let p = start - range.from; p < start - range.from + size; p++) if (used[p]) return false;
    return true;
  };

  for (const block of reserved) {
    const from = Math.max(block.start, range.from);
    const to = Math.min(block.start + block.size - 1, range.to);
    if (from <= to) mark(from, to - from + 1);
  }

  const sorted = [...requests].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Observed blocks first, so a new forward can never take a port an existing one holds.
  for (const request of sorted) {
    const held = observed.get(request.id);
    // A forward damaged by hand reads back smaller: it still keeps its start, so its ports do not move.
    if (held && free(held.start, request.size)) {
      mark(held.start, request.size);
      result.set(request.id, { ok: true, start: held.start });
    }
  }
  for (const request of sorted) {
    if (result.has(request.id)) continue;
    const slots = span - request.size + 1;
    if (slots <= 0) {
      result.set(request.id, { ok: false, reason: `needs ${request.size} node ports but node.port_range ${range.from}-${range.to} has ${span}` });
      continue;
    }
    const first = preferredOffset(request.id, slots);
    let start: number | undefined;
    for (let i = 0; i < slots; i++) {
      const candidate = range.from + ((first + i) % slots);
      if (free(candidate, request.size)) {
        start = candidate;
        break;
      }
    }
    if (start === undefined) {
      result.set(request.id, { ok: false, reason: `no ${request.size} free consecutive node ports left in node.port_range ${range.from}-${range.to}: widen it` });
      continue;
    }
    mark(start, request.size);
    result.set(request.id, { ok: true, start });
  }
  return result;
}

function preferredOffset(id: string, slots: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % slots;
}
