import type { AuthClient } from 'google-auth-library';
import type { Cluster, Resource, ResourceChange } from '../../model.js';
import type { ClusterProblem, Endpoint, Provider, ProviderScope } from '../provider.js';
import { Compute, resolveAuth, type Timeouts } from './compute.js';
import { clusterEndpoints, instanceViews, type Instances } from './endpoints.js';
import { apiFailure, failed } from './errors.js';
import { canonical, NAME_PREFIX, networkName, ownerOf, toResource, updatePlan, type ApiFirewall } from './firewall-body.js';
import { RuleWriter } from './rule-writer.js';

export { CREDENTIALS_HELP } from './compute.js';

export interface GcpProviderOptions {
  /** The API endpoint, e.g. `http://127.0.0.1:8080` for an emulator. Default: `PORTCULLIS_GCP_ENDPOINT`, else Google's. */
  endpoint?: string;
  /** Credentials instead of Application Default Credentials. */
  authClient?: AuthClient;
  /** Projects to look in on every pass besides those of Git's clusters (default: `PORTCULLIS_GCP_PROJECTS`, comma-separated). */
  projects?: string[];
  /** Page size of list calls (the API allows at most 500). */
  pageSize?: number;
  /** Look up the instances behind each cluster for `status --endpoints` (one aggregated list per project and pass). Default true. */
  instances?: boolean;
  timeouts?: Partial<Timeouts>;
  /** Tries per list call within one observe (throttling and server errors), and the first wait between them. */
  readRetry?: { attempts: number; delayMs: number };
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUTS: Timeouts = { callMs: 60_000, operationMs: 300_000 };

type GcpCluster = Extract<Cluster, { cloud: 'gcp' }>;

/**
 * The GCP provider: each port group of a `cloud: gcp` cluster is a VPC firewall rule in the cluster's
 * project, named `portcullis-{cluster}-…` and described `managed by portcullis; cluster={cluster}`.
 * It observes only rules with both marks, in every project Git names or has named since the agent started.
 */
export class GcpProvider implements Provider {
  readonly cloud = 'gcp' as const;
  private compute: Promise<Compute> | undefined;
  /** Projects to look in: every one Git has named since the agent started, and the configured ones. */
  private readonly projects = new Set<string>();
  private readonly instances = new Map<string, Instances>();
  private readonly endpoint: string | undefined;
  private readonly timeouts: Timeouts;

  constructor(private readonly options: GcpProviderOptions = {}) {
    const env = options.env ?? process.env;
    this.endpoint = options.endpoint ?? (env.PORTCULLIS_GCP_ENDPOINT || undefined);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const configured = options.projects ?? (env.PORTCULLIS_GCP_PROJECTS ?? '').split(',');
    for (const project of configured.map((p) => p.trim()).filter(Boolean)) this.projects.add(project);
  }

  async observe(scope: ProviderScope): Promise<Resource[]> {
    const compute = await this.connect();
    const asked = new Map(scope.clusters.map((c) => [c.name, (c as GcpCluster).gcp.project]));
    const askedProjects = new Set(asked.values());
    for (const project of askedProjects) this.projects.add(project);
    const projects = [...this.projects].sort();
    const [found] = await Promise.all([
      Promise.all(projects.map((project) => this.observeProject(compute, project, askedProjects.has(project)))),
      this.options.instances === false ? undefined : Promise.all([...askedProjects].map((project) => this.observeInstances(compute, project))),
    ]);
    return uniqueIds(found.flat(), asked);
  }

  private async observeProject(compute: Compute, project: string, asked: boolean): Promise<Resource[]> {
    let rules: ApiFirewall[];
    try {
      rules = await this.read(() => compute.listFirewalls(project, NAME_PREFIX, this.pageSize));
    } catch (err) {
      // A project only remembered from before that is gone now holds nothing to close.
      if (!asked && apiFailure(err).status === 404) {
        this.projects.delete(project);
        return [];
      }
      throw failed(`FirewallRule/${project}`, 'list', err);
    }
    return rules.flatMap((fw) => {
      const cluster = ownerOf(fw);
      return cluster ? [toResource(project, fw, cluster)] : [];
    });
  }

  private async observeInstances(compute: Compute, project: string): Promise<void> {
    try {
      const listed = await this.read(() => compute.listInstances(project, this.pageSize));
      this.instances.set(project, { ok: true, instances: instanceViews(project, listed) });
    } catch (err) {
      // Endpoints are a convenience: a missing compute.instances.list permission must not stop convergence.
      this.instances.set(project, { ok: false, reason: failed(`instances in ${project}`, 'list', err).message });
    }
  }

  /** The rendered rules in the form observe reads back (see `canonical`). */
  complete(desired: Resource[]): { resources: Resource[]; problems: ClusterProblem[] } {
    return { resources: desired.map(canonical), problems: [] };
  }

  async apply(change: ResourceChange, scope: ProviderScope): Promise<void> {
    const writer = new RuleWriter(await this.connect(), scope.revision);
    const { desired, actual } = change;
    if (change.action === 'created' && desired) return writer.insert(desired.body);
    if (change.action === 'deleted' && actual) return writer.delete(actual.body);
    if (change.action !== 'configured' || !desired || !actual) return;
    const plan = updatePlan(desired.body, actual.body);
    if (plan !== 'recreate') return writer.update(desired.body, plan);
    // The network or direction of a rule cannot change: a new rule takes its place, and under the same
    // name the old one must go first. (A rule in another project has an id of its own: see uniqueIds.)
    await writer.delete(actual.body);
    await writer.insert(desired.body);
  }

  endpoints(cluster: Cluster, actual: Resource[], scope: ProviderScope): Endpoint[] {
    if (cluster.cloud !== 'gcp') return [];
    const { project } = cluster.gcp;
    const network = networkName(project, cluster.gcp.network ?? scope.settings.gcp.vpc_name);
    const known: Instances =
      this.options.instances === false ? { ok: false, reason: 'instance lookup is off' } : (this.instances.get(project) ?? { ok: false, reason: 'not listed yet' });
    const held = actual.filter((r) => r.cluster === cluster.name && r.body.project === project);
    return clusterEndpoints(cluster, network, held, known);
  }

  async close(): Promise<void> {
    const compute = this.compute;
    this.compute = undefined;
    if (compute) await (await compute.catch(() => undefined))?.close();
  }

  private get pageSize(): number {
    return this.options.pageSize ?? 500;
  }

  /** The clients, made once credentials are found; a failure is tried again on the next call. */
  private connect(): Promise<Compute> {
    this.compute ??= resolveAuth({ ...(this.endpoint ? { endpoint: this.endpoint } : {}), ...(this.options.authClient ? { authClient: this.options.authClient } : {}), env: this.options.env ?? process.env }).then(
      (auth) => new Compute(this.endpoint, auth, this.timeouts),
    );
    const pending = this.compute;
    pending.catch(() => {
      if (this.compute === pending) this.compute = undefined;
    });
    return pending;
  }

  /** A list call, tried again on throttling and server errors: the engine does not retry observe. */
  private async read<T>(call: () => Promise<T>): Promise<T> {
    const { attempts, delayMs } = this.options.readRetry ?? { attempts: 3, delayMs: 250 };
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= attempts || !apiFailure(err).transient) throw err;
        await new Promise((resolve) => setTimeout(resolve, delayMs * 2 ** (attempt - 1)));
      }
    }
  }
}

/**
 * Resource ids name no project, so a rule of a cluster outside the project Git now gives it (left behind by
 * a move, or a same-named one in a second project) gets the project in its id: it is then unwanted, and closed.
 */
function uniqueIds(resources: Resource[], asked: ReadonlyMap<string, string>): Resource[] {
  const seen = new Set<string>();
  const ordered = [...resources].sort((a, b) => Number(asked.get(b.cluster) === b.body.project) - Number(asked.get(a.cluster) === a.body.project));
  return ordered.map((r) => {
    const stray = (asked.has(r.cluster) && asked.get(r.cluster) !== r.body.project) || seen.has(r.id);
    const resource = stray ? { ...r, id: `${r.id}@${String(r.body.project)}` } : r;
    seen.add(resource.id);
    return resource;
  });
}

export function createGcpProvider(options: GcpProviderOptions = {}): GcpProvider {
  return new GcpProvider(options);
}
