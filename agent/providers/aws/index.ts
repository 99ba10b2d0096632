import { DescribeRegionsCommand, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { Cluster, Resource, ResourceChange } from '../../model.js';
import { awsRuleDescription } from '../../render/index.js';
import type { ClusterProblem, Endpoint, Provider, ProviderScope } from '../provider.js';
import { applyChange } from './apply.js';
import { assemble } from './assemble.js';
import { readBody, sortRules, toJson } from './body.js';
import { Ec2Clients } from './clients.js';
import { awsEndpoints } from './endpoints.js';
import { providerError } from './errors.js';
import type { InstanceView } from './instances.js';
import { observeRegion, type Located } from './observe.js';

export interface AwsProviderOptions {
  /** An EC2-compatible endpoint. Default: `AWS_ENDPOINT_URL_EC2`, then `AWS_ENDPOINT_URL` (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), then AWS's own. */
  endpoint?: string;
  /** Default: the standard AWS credential chain. */
  credentials?: EC2ClientConfig['credentials'];
  /** Regions to look in on every pass, besides those of the clusters in Git and those seen before. */
  regions?: string[];
  /**
   * On the first pass, look in every region the account has enabled (DescribeRegions), so a cluster removed
   * from Git while the agent was down is closed even where no other cluster lives. Default true.
   */
  discoverRegions?: boolean;
  /** Tries per read call (the SDK retries reads; the engine retries writes). Default 4. */
  readAttempts?: number;
  /** Default 30 s. */
  requestTimeoutMs?: number;
  /** Where `AWS_ENDPOINT_URL` and the default region are read from. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

type AwsCluster = Extract<Cluster, { cloud: 'aws' }>;

/**
 * The AWS provider: one security group per cluster (or the cluster's rules in a group Git names), its ingress
 * rules converged rule by rule, attached to the cluster's instances.
 */
export class AwsProvider implements Provider {
  readonly cloud = 'aws' as const;
  private readonly clients: Ec2Clients;
  /** Regions that held something of portcullis's: observed on every pass, as Git may have dropped their clusters. */
  private readonly regions = new Set<string>();
  private discovered: boolean;
  private locations = new Map<string, Located[]>();
  private reached = new Map<string, InstanceView[]>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly homeRegion: string;

  constructor(options: AwsProviderOptions = {}) {
    const env = options.env ?? process.env;
    // The SDK's own switch for endpoints from the environment is honoured too.
    const fromEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true' ? undefined : (env.AWS_ENDPOINT_URL_EC2 ?? env.AWS_ENDPOINT_URL);
    const endpoint = options.endpoint ?? fromEnv;
    this.clients = new Ec2Clients({
      ...(endpoint ? { endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      readAttempts: options.readAttempts ?? 4,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      env,
    });
    for (const region of options.regions ?? []) this.regions.add(region);
    this.discovered = options.discoverRegions === false;
    this.homeRegion = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  }

  async observe(scope: ProviderScope): Promise<Resource[]> {
    const clusters = scope.clusters.filter((c): c is AwsCluster => c.cloud === 'aws');
    const regions = new Set([...clusters.map((c) => c.aws.region), ...this.regions]);
    if (!this.discovered) for (const region of await this.enabledRegions(clusters[0]?.aws.region)) regions.add(region);
    // Groups Git names for clusters to keep rules in: looked up by name, as they carry no mark of ours.
    const named = new Map<string, string[]>();
    for (const c of clusters) {
      const name = c.aws.security_group ?? scope.settings.aws.security_group_name;
      if (name !== undefined) named.set(c.aws.region, [...(named.get(c.aws.region) ?? []), name]);
    }
    const views = await Promise.all([...regions].sort().map((region) => observeRegion(this.clients.read(region), region, named.get(region) ?? [])));
    this.discovered = true;
    for (const view of views) if (view.located.length > 0) this.regions.add(view.region);
    const regionOf = new Map(clusters.map((c) => [c.name, c.aws.region]));
    const observation = assemble(views, (cluster) => regionOf.get(cluster));
    this.locations = observation.locations;
    this.reached = observation.reached;
    return observation.resources;
  }

  /**
   * Sorts rules into the order observe reports them in. A cluster whose rules would not carry the ownership
   * mark (an operator template's doing) keeps what it holds, with a problem: written, they would never be seen again.
   */
  complete(desired: Resource[], actual: Resource[]): { resources: Resource[]; problems: ClusterProblem[] } {
    const problems: ClusterProblem[] = [];
    for (const r of desired) {
      const foreign = readBody(r.body).rules.find((rule) => rule.description !== awsRuleDescription(r.cluster));
      if (foreign && !problems.some((p) => p.cluster === r.cluster)) {
        problems.push({ cluster: r.cluster, message: `${r.kind}/${r.name}: rule description ${JSON.stringify(foreign.description)} is not the ownership mark ${awsRuleDescription(r.cluster)}, so portcullis would not recognise the rule as its own` });
      }
    }
    const troubled = new Set(problems.map((p) => p.cluster));
    const resources = desired.filter((r) => !troubled.has(r.cluster)).map((r) => {
      const body = readBody(r.body);
      return { ...r, body: toJson({ ...body, rules: sortRules(body.rules) }) };
    });
    return { resources: [...resources, ...actual.filter((r) => troubled.has(r.cluster))], problems };
  }

  async apply(change: ResourceChange): Promise<void> {
    await applyChange(
      {
        clients: this.clients,
        locations: this.locations,
        inRegion: (region, work) => this.serialize(region, work),
        remember: (region) => this.regions.add(region),
        reached: (id, instances) => this.reached.set(id, instances),
      },
      change,
    );
  }

  endpoints(cluster: Cluster, actual: Resource[], scope: ProviderScope): Endpoint[] {
    if (cluster.cloud !== 'aws') return [];
    return awsEndpoints(cluster, actual, (id) => this.reached.get(id) ?? [], scope.settings.aws.use_internal_ips);
  }

  async close(): Promise<void> {
    this.clients.destroy();
  }

  /** Every region enabled for the account, asked once. */
  private async enabledRegions(near: string | undefined): Promise<string[]> {
    const region = near ?? this.homeRegion;
    try {
      const answer = await this.clients.read(region).send(new DescribeRegionsCommand({}));
      return (answer.Regions ?? []).map((r) => r.RegionName ?? '').filter(Boolean);
    } catch (err) {
      throw providerError(`region ${region}`, 'listing regions (DescribeRegions; or set discoverRegions: false and list regions)', err);
    }
  }

  /** Runs `work` after every earlier work of the same key: instance groups are read, then written. */
  private serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }
}

export function createAwsProvider(options: AwsProviderOptions = {}): AwsProvider {
  return new AwsProvider(options);
}

export type { GroupBody, RuleBody } from './body.js';
