// Watch streams: newline-delimited {"type","object"} events over a chunked 200 response.
// Without a resourceVersion (or "0") a watch starts with synthetic ADDED events for what
// exists; with one it replays the kept history after it, or answers 410 Expired when that
// history is gone. Selector watches see an object leaving their set as DELETED and
// entering it as ADDED, as the real watch cache reports them.
import type { ServerResponse } from 'node:http';
import { KubeError, badRequest, statusBody } from './errors.js';
import { clone, metadataOf, nameOf, namespaceOf, type JsonObject } from './json.js';
import { apiVersionOf, type Kind } from './kinds.js';
import { fieldsMatch, labelsMatch, type FieldRequirement, type Requirement } from './selectors.js';
import type { Store, StoredEvent } from './store.js';

export interface WatchRequest {
  kind: Kind;
  namespace?: string;
  name?: string;
  labels: readonly Requirement[];
  fields: readonly FieldRequirement[];
  resourceVersion?: string;
  bookmarks: boolean;
  timeoutSeconds?: number;
}

/** How a too-old resourceVersion is reported: an ERROR event in a 200 stream (what current
 * servers do) or a plain 410 response (what older ones did). */
export type ExpiredAs = 'event' | 'status';

interface OpenWatch {
  request: WatchRequest;
  response: ServerResponse;
  close(): void;
}

type Outgoing = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: JsonObject };

export class Watches {
  private readonly open = new Set<OpenWatch>();

  constructor(
    private readonly store: Store,
    private readonly expiredAs: ExpiredAs,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** Start streaming; throws (before any byte is sent) for a bad or, with 'status', expired rv. */
  serve(response: ServerResponse, request: WatchRequest): void {
    const matches = (o: JsonObject) =>
      (request.namespace === undefined || namespaceOf(o) === request.namespace) &&
      (request.name === undefined || nameOf(o) === request.name) &&
      labelsMatch(request.labels, o) &&
      fieldsMatch(request.fields, o);
    const rv = request.resourceVersion;
    let initial: Outgoing[];
    if (rv === undefined || rv === '' || rv === '0') {
      initial = this.store.list(request.kind, request.namespace).filter(matches).map((o) => ({ type: 'ADDED', object: clone(o) }));
    } else {
      const from = Number(rv);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version: ${rv}`);
      const events = this.store.eventsSince(from);
      if (events === 'expired') {
        const expired = new KubeError(410, 'Expired', `too old resource version: ${from} (${this.store.oldestWatchable + 1})`);
        if (this.expiredAs === 'status') throw expired;
        startStream(response);
        response.end(JSON.stringify({ type: 'ERROR', object: statusBody(expired) }) + '\n');
        return;
      }
      initial = events.filter((e) => e.kind === request.kind).flatMap((e) => translate(e, matches));
    }

    startStream(response);
    const send = (event: Outgoing | { type: 'BOOKMARK'; object: JsonObject }) => response.write(JSON.stringify(event) + '\n');
    initial.forEach(send);
    const unsubscribe = this.store.subscribe((e) => {
      if (e.kind === request.kind) translate(e, matches).forEach(send);
    });
    const timer = request.timeoutSeconds ? setTimeout(() => watch.close(), request.timeoutSeconds * 1000) : undefined;
    const watch: OpenWatch = {
      request,
      response,
      close: () => {
        if (!response.writableEnded) response.end();
      },
    };
    this.open.add(watch);
    response.on('close', () => {
      unsubscribe();
      clearTimeout(timer);
      this.open.delete(watch);
    });
  }

  /** End every open stream, as an API server restart or a load balancer timeout would. */
  dropAll(): number {
    const n = this.open.size;
    for (const w of [...this.open]) w.close();
    return n;
  }

  /** Send a BOOKMARK at the current resourceVersion to every watch that asked for bookmarks. */
  bookmarks(): void {
    const rv = String(this.store.resourceVersion);
    for (const w of this.open) {
      if (!w.request.bookmarks) continue;
      const object = { kind: w.request.kind.kind, apiVersion: apiVersionOf(w.request.kind), metadata: { resourceVersion: rv } };
      w.response.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
    }
  }

  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.open.size < count) {
      if (Date.now() > deadline) throw new Error(`fake kube-apiserver: ${this.open.size} open watches after ${timeoutMs} ms, wanted ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

function startStream(response: ServerResponse): void {
  response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  response.flushHeaders();
}

function translate(event: StoredEvent, matches: (o: JsonObject) => boolean): Outgoing[] {
  const now = matches(event.object);
  const before = event.prev !== undefined && matches(event.prev);
  switch (event.type) {
    case 'ADDED':
      return now ? [{ type: 'ADDED', object: clone(event.object) }] : [];
    case 'DELETED':
      return now ? [{ type: 'DELETED', object: clone(event.object) }] : [];
    case 'MODIFIED':
      if (now) return [{ type: before ? 'MODIFIED' : 'ADDED', object: clone(event.object) }];
      if (before && event.prev) {
        const left = clone(event.prev);
        metadataOf(left).resourceVersion = String(event.rv);
        return [{ type: 'DELETED', object: left }];
      }
      return [];
  }
}
