// The HTTP edge: record the request, check the bearer token, fire an injected fault if one
// matches, then serve discovery, a watch stream, or a verb on a resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { discoveryDocument } from './discovery.js';
import { KubeError, badRequest, statusBody } from './errors.js';
import type { Faults } from './faults.js';
import type { Json, JsonObject } from './json.js';
import type { Objects, WriteOptions } from './objects.js';
import { openapiDocument } from './openapi.js';
import { patchObject } from './patching.js';
import { parseResourcePath } from './routes.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { Watches } from './watch.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** The status code answered (200 for a watch that started streaming). */
  status?: number;
}

/** 'bearer': any `Authorization: Bearer …` passes; {token}: only that one; 'none': no check. */
export type AuthMode = 'bearer' | 'none' | { token: string };

export interface ServerParts {
  objects: Objects;
  watches: Watches;
  faults: Faults;
  requests: RecordedRequest[];
  auth(): AuthMode;
  address(): string;
  /** Told of each request as it arrives, before it is served. */
  onRequest?(request: RecordedRequest): void;
}

type Answer = { code: number; body: JsonObject } | 'streaming';

export function createHandler(parts: ServerParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: RecordedRequest = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'] };
    parts.requests.push(entry);
    parts.onRequest?.(entry);
    const reply = (code: number, body: JsonObject, headers: Record<string, string> = {}) => {
      entry.status = code;
      if (res.headersSent) return void res.end();
      res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    readBody(req)
      .then(async (body) => {
        checkAuth(req, parts.auth());
        const fault = parts.faults.take(method, url.pathname);
        if (fault instanceof KubeError) throw fault;
        if (fault) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        const answer = serve(parts, method, url, body, req, res);
        if (answer === 'streaming') entry.status = 200;
        else reply(answer.code, answer.body);
      })
      .catch((error: unknown) => {
        const failure = error instanceof KubeError ? error : new KubeError(500, 'InternalError', `fake kube-apiserver: ${String(error)}`);
        const headers: Record<string, string> = failure.retryAfter !== undefined ? { 'Retry-After': String(failure.retryAfter) } : {};
        reply(failure.code, statusBody(failure), headers);
      });
  };
}

function checkAuth(req: IncomingMessage, mode: AuthMode): void {
  if (mode === 'none') return;
  const header = req.headers.authorization ?? '';
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token || (typeof mode === 'object' && token !== mode.token)) throw new KubeError(401, 'Unauthorized', 'Unauthorized');
}

function serve(parts: ServerParts, method: string, url: URL, body: string, req: IncomingMessage, res: ServerResponse): Answer {
  const query = Object.fromEntries(url.searchParams);
  if (method === 'GET') {
    const doc = discoveryDocument(url.pathname, parts.address()) ?? openapiDocument(url.pathname);
    if (doc) return { code: 200, body: doc };
  }
  const route = parseResourcePath(url.pathname);
  if (!route) throw new KubeError(404, 'NotFound', 'the server could not find the requested resource', {});
  const { objects } = parts;
  const { kind, name } = route;
  const namespace = route.namespace ?? '';
  const watching = route.legacyWatch || query.watch === 'true' || query.watch === '1';

  if (method === 'GET' && watching) {
    const watch = {
      kind,
      labels: parseLabelSelector(query.labelSelector),
      fields: parseFieldSelector(query.fieldSelector, kind.extraFields),
      bookmarks: query.allowWatchBookmarks === 'true',
      ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(query.resourceVersion !== undefined ? { resourceVersion: query.resourceVersion } : {}),
      ...(query.timeoutSeconds !== undefined ? { timeoutSeconds: Number(query.timeoutSeconds) } : {}),
    };
    parts.watches.serve(res, watch);
    return 'streaming';
  }
  if (method === 'GET') {
    return { code: 200, body: name === undefined ? objects.list(kind, route.namespace, query) : objects.get(kind, namespace, name) };
  }
  const opts = writeOptions(query, req.headers['user-agent']);
  if (name === undefined) {
    if (method === 'POST' && (route.namespace !== undefined || !kind.namespaced)) {
      checkJson(req);
      return { code: 201, body: objects.create(kind, namespace, parseJson(body), opts) };
    }
    if (method === 'DELETE') return { code: 200, body: objects.deleteCollection(kind, route.namespace, query, opts) };
    throw notAllowed(method);
  }
  switch (method) {
    case 'PUT':
      checkJson(req);
      return { code: 200, body: objects.replace(kind, namespace, name, parseJson(body), opts, route.subresource) };
    case 'PATCH': {
      const patched = patchObject(
        objects,
        {
          kind,
          namespace,
          name,
          contentType: req.headers['content-type'] ?? '',
          body,
          fieldManager: query.fieldManager,
          force: query.force === 'true',
          ...(route.subresource ? { subresource: route.subresource } : {}),
        },
        opts,
      );
      return { code: patched.created ? 201 : 200, body: patched.object };
    }
    case 'DELETE':
      if (route.subresource) throw notAllowed(method);
      return { code: 200, body: objects.delete(kind, namespace, name, body.trim() ? parseJson(body) : undefined, opts) };
    default:
      throw notAllowed(method);
  }
}

function writeOptions(query: Record<string, string>, userAgent: string | undefined): WriteOptions {
  const dryRun = query.dryRun;
  if (dryRun !== undefined && dryRun !== 'All') throw badRequest(`Invalid dryRun value: ${dryRun}; supported values: All`);
  const manager = query.fieldManager ?? (userAgent?.split('/')[0] || 'unknown');
  if (manager.length > 128) throw new KubeError(422, 'Invalid', 'fieldManager: Too long: may not be longer than 128 characters');
  return { dryRun: dryRun === 'All', manager };
}

function checkJson(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim();
  if (type !== 'application/json' && type !== '*/*') {
    throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`);
  }
}

function parseJson(body: string): Json {
  try {
    return JSON.parse(body) as Json;
  } catch (error) {
    throw badRequest(`error decoding request body: ${(error as Error).message}`);
  }
}

const notAllowed = (method: string) => new KubeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
