// Objects by kind and namespace/name, one global resourceVersion counter bumped on every
// write (as etcd does), and a bounded history of events that watches replay from.
import { clone, metadataOf, nameOf, namespaceOf, type JsonObject } from './json.js';
import type { Kind } from './kinds.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  kind: Kind;
  type: EventType;
  /** The object after the write (for DELETED: the last state, carrying the deletion's rv). */
  object: JsonObject;
  /** The object before the write, so selector watches can tell an object leaving their set. */
  prev?: JsonObject;
}

export class Store {
  private rv: number;
  private readonly objects = new Map<Kind, Map<string, JsonObject>>();
  private history: StoredEvent[] = [];
  /** Highest rv whose event is no longer kept: a watch from below it gets 410 Expired. */
  private compactedThrough: number;
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(
    private readonly historyLimit: number,
    startRv = 1000,
  ) {
    this.rv = startRv;
    this.compactedThrough = startRv;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The stored object itself: callers that keep or change it must clone it. */
  peek(kind: Kind, namespace: string, name: string): JsonObject | undefined {
    return this.objects.get(kind)?.get(key(namespace, name));
  }

  /** Objects of a kind (all namespaces when `namespace` is undefined), in etcd key order. */
  list(kind: Kind, namespace?: string): JsonObject[] {
    const all = [...(this.objects.get(kind)?.entries() ?? [])];
    return all
      .filter(([, o]) => namespace === undefined || namespaceOf(o) === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o);
  }

  /** Persist one write: stamp the next resourceVersion, keep the event, tell the watches. */
  commit(kind: Kind, type: EventType, object: JsonObject, prev?: JsonObject): JsonObject {
    const stored = clone(object);
    this.rv += 1;
    metadataOf(stored).resourceVersion = String(this.rv);
    let byName = this.objects.get(kind);
    if (!byName) {
      byName = new Map();
      this.objects.set(kind, byName);
    }
    const k = key(namespaceOf(stored), nameOf(stored));
    if (type === 'DELETED') byName.delete(k);
    else byName.set(k, stored);
    const event: StoredEvent = { rv: this.rv, kind, type, object: stored };
    if (prev) event.prev = prev;
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped) this.compactedThrough = dropped.rv;
    }
    for (const listener of this.listeners) listener(event);
    return clone(stored);
  }

  /** Events after `rv`, or 'expired' when some of them are no longer kept. */
  eventsSince(rv: number): StoredEvent[] | 'expired' {
    if (rv < this.compactedThrough) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forget all history, as etcd compaction does: watches from any older rv now expire. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }

  get oldestWatchable(): number {
    return this.compactedThrough;
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
