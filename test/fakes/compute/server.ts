// A wire-level Compute Engine fake: a node:http server speaking the REST paths that @google-cloud/compute's
// HTTP/JSON ("fallback") transport requests — global firewalls, global operations (get and wait), and the
// aggregated instance list — with Google's error JSON, pagination, operations that take time, and
// throttling or server errors on demand. It counts every request by method, at the server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_ROOT, ApiError, FirewallStore, notFound, type Firewall, type Json } from './firewalls.js';

export type { Firewall } from './firewalls.js';

export interface ComputeFakeOptions {
  /** How long each write operation stays RUNNING before it completes (and takes effect). Default 0. */
  operationDelayMs?: number;
}

/** An instance as the fake lists it: just the fields portcullis reads. */
export interface FakeInstance {
  name: string;
  zone?: string;
  status?: string;
  tags: string[];
  /** `network` is a name; the fake lists it as a full URL. */
  interfaces: { network?: string; networkIP: string; natIP?: string }[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

interface Fault {
  method: string;
  path: RegExp;
  status: number;
  left: number;
  /** The request is carried out, and then the error is sent instead of its answer. */
  afterEffect: boolean;
}

interface Operation {
  resource: Firewall;
  done: Promise<void>;
  status: 'RUNNING' | 'DONE';
  error?: { code: string; message: string };
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const REASONS: Record<number, string> = { 429: 'rateLimitExceeded', 500: 'backendError', 502: 'backendError', 503: 'backendError' };
const MAX_PAGE = 500;

export class ComputeFake {
  readonly requests: RecordedRequest[] = [];
  private readonly stores = new Map<string, FirewallStore>();
  private readonly operations = new Map<string, Operation>();
  private readonly instances = new Map<string, FakeInstance[]>();
  private readonly goneProjects = new Set<string>();
  private readonly faults: Fault[] = [];
  private operationErrors: { code: string; message: string }[] = [];
  private opCount = 0;
  private server: http.Server | undefined;
  url = '';

  constructor(private readonly options: ComputeFakeOptions = {}) {}

  async start(): Promise<this> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- what tests arrange and read, behind the API's back (not counted) ----

  firewalls(project: string): Firewall[] {
    return this.store(project).list();
  }

  firewall(project: string, name: string): Firewall | undefined {
    const store = this.store(project);
    return store.has(name) ? store.get(name) : undefined;
  }

  /** A rule made by hand in the console: the same checks and defaults as an API insert. */
  addFirewall(project: string, input: Firewall): void {
    const store = this.store(project);
    store.store(store.prepareInsert(input));
  }

  editFirewall(project: string, name: string, fields: Firewall): void {
    const store = this.store(project);
    store.store(store.prepareUpdate(name, { ...store.get(name), ...fields }));
  }

  removeFirewall(project: string, name: string): void {
    this.store(project).remove(name);
  }

  addInstance(project: string, instance: FakeInstance): void {
    this.instances.set(project, [...(this.instances.get(project) ?? []), instance]);
  }

  /** Every request to the project answers 404, as for a deleted project. */
  deleteProject(project: string): void {
    this.goneProjects.add(project);
  }

  /**
   * The next `times` requests with this method (`*`: any) whose path matches answer `status` with Google's error body.
   * With `afterEffect` each is carried out first (and waited on, for a wait): a write whose answer was lost.
   */
  failNext(method: string, path: RegExp, status: number, times = 1, options: { afterEffect?: boolean } = {}): void {
    this.faults.push({ method, path, status, left: times, afterEffect: options.afterEffect ?? false });
  }

  /** Forgets every pending failure. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** The next write operation completes with this error (the write itself is accepted, and has no effect). */
  failNextOperation(code: string, message: string): void {
    this.operationErrors.push({ code, message });
  }

  /** Requests by method, e.g. `{ GET: 3, POST: 1 }`. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) counts[r.method] = (counts[r.method] ?? 0) + 1;
    return counts;
  }

  /** Write requests on firewalls (POST, PATCH, PUT, DELETE), as `METHOD name-or-collection`, in order. */
  writes(): string[] {
    return this.requests.filter((r) => WRITE_METHODS.has(r.method) && /\/global\/firewalls/.test(r.path)).map((r) => `${r.method} ${r.path.split('/').at(-1)}`);
  }

  resetCounts(): void {
    this.requests.length = 0;
  }

  // ---- the API ----

  private store(project: string): FirewallStore {
    let store = this.stores.get(project);
    if (!store) this.stores.set(project, (store = new FirewallStore(project)));
    return store;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      this.requests.push({ method, path: url.pathname, query: url.searchParams });
      const reply = (status: number, body: Json) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(body));
      };
      this.route(method, url, Buffer.concat(chunks).toString('utf8'), req.headers.authorization)
        .then((body) => reply(200, body))
        .catch((err: unknown) => {
          if (err instanceof ApiError) reply(err.status, err.body());
          else reply(500, new ApiError(500, 'backendError', `fake: ${String(err)}`).body());
        });
    });
  }

  private async route(method: string, url: URL, text: string, authorization: string | undefined): Promise<Json> {
    if (!authorization?.startsWith('Bearer ')) throw new ApiError(401, 'required', 'Request is missing required authentication credential.');
    const fault = this.faults.find((f) => f.left > 0 && (f.method === method || f.method === '*') && f.path.test(url.pathname));
    if (fault) {
      fault.left--;
      if (fault.afterEffect) await this.serve(method, url, text).catch(() => undefined);
      throw new ApiError(fault.status, REASONS[fault.status] ?? 'backendError', fault.status === 429 ? 'Rate Limit Exceeded' : 'Internal error. Please try again.');
    }
    return this.serve(method, url, text);
  }

  private async serve(method: string, url: URL, text: string): Promise<Json> {
    const m = /^\/compute\/v1\/projects\/([^/]+)\/(global\/firewalls|global\/operations|aggregated\/instances)(?:\/([^/]+))?(\/wait)?$/.exec(url.pathname);
    if (!m) throw new ApiError(404, 'notFound', `fake: no route for ${method} ${url.pathname}`);
    const [, project, collection, name, wait] = m as unknown as [string, string, string, string | undefined, string | undefined];
    if (this.goneProjects.has(project)) throw notFound(`projects/${project}`);
    const body = text ? (JSON.parse(text) as Firewall) : {};

    if (collection === 'global/operations' && name) return this.operation(project, name, method === 'POST' && wait !== undefined);
    if (collection === 'aggregated/instances' && method === 'GET' && !name) return this.listInstances(project, url.searchParams);
    if (collection !== 'global/firewalls') throw new ApiError(404, 'notFound', `fake: no route for ${method} ${url.pathname}`);

    const store = this.store(project);
    if (!name && method === 'GET') return this.listFirewalls(store, url.searchParams);
    if (!name && method === 'POST') {
      const fw = store.prepareInsert(body);
      return this.startOperation(project, 'insert', fw, () => store.store(fw));
    }
    if (name && method === 'GET') return store.get(name);
    if (name && method === 'PATCH') {
      const fw = store.preparePatch(name, body);
      return this.startOperation(project, 'patch', fw, () => store.store(fw));
    }
    if (name && method === 'PUT') {
      const fw = store.prepareUpdate(name, body);
      return this.startOperation(project, 'update', fw, () => store.store(fw));
    }
    if (name && method === 'DELETE') {
      store.prepareDelete(name);
      return this.startOperation(project, 'delete', store.get(name), () => store.remove(name));
    }
    throw new ApiError(405, 'httpMethodNotAllowed', `fake: ${method} is not allowed on ${url.pathname}`);
  }

  private listFirewalls(store: FirewallStore, query: URLSearchParams): Json {
    let rules = store.list();
    const filter = query.get('filter');
    if (filter) {
      // The one filter form used here: `name eq "RE2 regex"` (quotes optional), matched against the whole name.
      const f = /^name eq (?:"([^"]*)"|'([^']*)'|(\S+))$/.exec(filter.trim());
      if (!f) throw new ApiError(400, 'invalid', `fake: unsupported filter '${filter}'`);
      const re = new RegExp(`^(?:${f[1] ?? f[2] ?? f[3]})$`);
      rules = rules.filter((r) => re.test(r.name as string));
    }
    const page = paginate(rules, query);
    return { kind: 'compute#firewallList', id: `projects/${store.project}/global/firewalls`, items: page.items, selfLink: `${API_ROOT}/projects/${store.project}/global/firewalls`, ...page.next };
  }

  private listInstances(project: string, query: URLSearchParams): Json {
    const all = (this.instances.get(project) ?? []).map((i): Firewall => {
      const zone = i.zone ?? 'us-central1-a';
      return {
        kind: 'compute#instance',
        id: String(Math.abs(hash(i.name))),
        name: i.name,
        zone: `${API_ROOT}/projects/${project}/zones/${zone}`,
        status: i.status ?? 'RUNNING',
        tags: { items: i.tags, fingerprint: 'x' },
        networkInterfaces: i.interfaces.map((n, index) => ({
          name: `nic${index}`,
          network: `${API_ROOT}/projects/${project}/global/networks/${n.network ?? 'default'}`,
          networkIP: n.networkIP,
          accessConfigs: n.natIP ? [{ kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: 'External NAT', natIP: n.natIP }] : [],
        })),
      };
    });
    const page = paginate(all, query);
    const items: { [zone: string]: Json } = {};
    for (const instance of page.items) {
      const zone = `zones/${(instance.zone as string).split('/').at(-1)}`;
      const scoped = (items[zone] ??= { instances: [] }) as { instances: Json[] };
      scoped.instances.push(instance);
    }
    if (Object.keys(items).length === 0) items['zones/us-central1-a'] = { warning: { code: 'NO_RESULTS_ON_PAGE', message: 'There are no results for scope' } };
    return { kind: 'compute#instanceAggregatedList', id: `projects/${project}/aggregated/instances`, items, ...page.next };
  }

  private startOperation(project: string, type: string, target: Firewall, effect: () => void): Json {
    const name = `operation-${Date.now()}-${(++this.opCount).toString(16).padStart(8, '0')}`;
    const error = this.operationErrors.shift();
    const delay = this.options.operationDelayMs ?? 0;
    const op: Operation = { resource: target, status: 'RUNNING', done: Promise.resolve(), ...(error ? { error } : {}) };
    const finish = () => {
      if (!error) effect();
      op.status = 'DONE';
    };
    if (delay > 0) op.done = new Promise((resolve) => setTimeout(() => resolve(finish()), delay));
    else finish();
    this.operations.set(`${project}/${name}`, op);
    return this.operationBody(project, name, type, op);
  }

  private async operation(project: string, name: string, wait: boolean): Promise<Json> {
    const op = this.operations.get(`${project}/${name}`);
    if (!op) throw notFound(`projects/${project}/global/operations/${name}`);
    if (wait) await op.done;
    return this.operationBody(project, name, 'wait', op);
  }

  private operationBody(project: string, name: string, type: string, op: Operation): Json {
    return {
      kind: 'compute#operation',
      id: String(Math.abs(hash(name))),
      name,
      operationType: type,
      targetLink: op.resource.selfLink ?? `${API_ROOT}/projects/${project}/global/firewalls/${String(op.resource.name)}`,
      status: op.status,
      progress: op.status === 'DONE' ? 100 : 0,
      selfLink: `${API_ROOT}/projects/${project}/global/operations/${name}`,
      ...(op.status === 'DONE' && op.error ? { error: { errors: [op.error] }, httpErrorStatusCode: 400 } : {}),
    };
  }
}

/** Pages by `maxResults` (at most 500) with an opaque `pageToken`, as the API does. */
function paginate<T>(all: T[], query: URLSearchParams): { items: T[]; next: { nextPageToken?: string } } {
  const size = Math.min(Number(query.get('maxResults') ?? MAX_PAGE) || MAX_PAGE, MAX_PAGE);
  const token = query.get('pageToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, '')) : 0;
  if (!Number.isInteger(start) || start < 0) throw new ApiError(400, 'invalid', 'Invalid value for pageToken');
  const end = start + size;
  return { items: all.slice(start, end), next: end < all.length ? { nextPageToken: Buffer.from(`offset:${end}`).toString('base64url') } : {} };
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

export async function startComputeFake(options: ComputeFakeOptions = {}): Promise<ComputeFake> {
  return new ComputeFake(options).start();
}
