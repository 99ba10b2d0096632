// The vocabulary of portcullis, shared by every phase of the pipeline.
// One concept, one word: cluster, port spec, resource, change, plan, provider, pass.

export const CLOUDS = ['kubernetes', 'aws', 'gcp', 'node'] as const;
export type Cloud = (typeof CLOUDS)[number];

export const PROTOCOLS = ['tcp', 'udp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export type Exposure = 'public' | 'private';

export const KUBERNETES_MODES = ['loadbalancer', 'ingress', 'podip'] as const;
export type KubernetesMode = (typeof KUBERNETES_MODES)[number];

export const NODE_BACKENDS = ['auto', 'nftables', 'userspace'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

/** A place in the config repo. `line` and `col` are 1-based; `file` is relative to the repo root. */
export interface Position {
  file: string;
  line: number;
  col: number;
}

/** Every kind of problem a user can be shown. A closed set, so tests and metrics can name them. */
export type ProblemCode =
  | 'FILE_UNREADABLE' // not UTF-8, a symlink leaving the repo, a git object we cannot read
  | 'FILE_TOO_LARGE'
  | 'YAML_SYNTAX' // includes duplicate keys and alias bombs
  | 'SCHEMA' // wrong type, missing field, bad enum value
  | 'UNKNOWN_KEY'
  | 'PORT_SYNTAX' // a port spec that does not parse
  | 'PORT_RANGE' // 0, > 65535, reversed range
  | 'PORT_CONFLICT' // the same port declared twice with different exposure
  | 'BAD_CIDR'
  | 'DUPLICATE_CLUSTER'
  | 'NOT_ALLOWED' // allowed_clouds, kubernetes.allowed_contexts
  | 'MODE_UNSUPPORTED' // e.g. UDP in Kubernetes ingress mode
  | 'RENDER' // a template failed or produced an invalid object
  | 'POLICY_DENIED' // an enforce admin policy rejected the cluster
  | 'POLICY_WARNING' // a warn admin policy found something
  | 'POLICY_CONFIG' // admin_policy names a policy that cannot be found or loaded
  | 'SOURCE'; // git or filesystem trouble reading a revision

export type Severity = 'error' | 'warning';

export interface Problem {
  code: ProblemCode;
  severity: Severity;
  message: string;
  at: Position;
  /** The cluster the problem belongs to, when known. */
  cluster?: string;
}

/** One normalised port spec: a contiguous range of one protocol with one exposure. */
export interface PortSpec {
  protocol: Protocol;
  /** Inclusive bounds; `from === to` for a single port. */
  from: number;
  to: number;
  exposure: Exposure;
  /** Sources allowed to connect, sorted and de-duplicated. Empty means the default for the exposure:
   * anywhere for public, `settings.private_cidrs` for private. */
  cidrs: string[];
  /** AMS service names (`ssh` in `ssh:tcp:22`) of the specs merged into this range, sorted. */
  names: string[];
  /** Where the first spec merged into this range was declared. */
  at: Position;
}

export interface KubernetesTarget {
  /** kubeconfig context; absent means the current context (or in-cluster config). */
  context?: string;
  namespace: string;
  selector: Record<string, string>;
  /** Per-cluster override of `settings.kubernetes.ports`. */
  ports?: KubernetesMode;
}

export interface AwsTarget {
  region: string;
  vpc?: string;
  security_group?: string;
  instance_ids?: string[];
  instance_tags?: Record<string, string>;
}

export interface GcpTarget {
  project: string;
  network?: string;
  target_tags: string[];
}

export interface NodeTarget {
  /** The instance behind the node: forwards go to `address:port`. */
  address: string;
}

interface ClusterBase {
  name: string;
  /** Labels for the objects rendered for this cluster (admin policies may add some). */
  labels: Record<string, string>;
  ports: PortSpec[];
  /** Where the cluster's document starts. */
  at: Position;
}

/** A cluster manifest after load and check. Only the block of the cluster's own cloud is kept. */
export type Cluster =
  | (ClusterBase & { cloud: 'kubernetes'; kubernetes: KubernetesTarget })
  | (ClusterBase & { cloud: 'aws'; aws: AwsTarget })
  | (ClusterBase & { cloud: 'gcp'; gcp: GcpTarget })
  | (ClusterBase & { cloud: 'node'; node: NodeTarget });

/** `admin_policy` as written: one entry or a list; an entry is a built-in name, an absolute module path, a URL, or a map. */
export type AdminPolicySetting = string | (string | Record<string, unknown>)[];

/** enforce: a violation blocks the cluster; warn: reported, not blocking; audit: counted only. */
export const POLICY_MODES = ['enforce', 'warn', 'audit'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/** What an admin policy found wrong, as every report shows it: `[policy/rule] message (FILE:LINE)`. */
export interface Violation {
  policy: string;
  rule: string;
  mode: PolicyMode;
  cluster: string;
  /** `"22"` or `"10020-10040"`, when the violation is about a port spec. */
  port?: string;
  protocol?: Protocol;
  cidr?: string;
  /** The offending port spec's declaration, else the cluster's document (or, in an audit, the live resource). */
  at: Position;
  message: string;
}

export interface PortRangeSetting {
  from: number;
  to: number;
}

/** The settings file (`config.yaml`, the `~/.sky/config.yaml` equivalent), defaults filled in. */
export interface Settings {
  allowed_clouds?: Cloud[];
  /** Admin policies, in the order they run (agent/policy/entries.ts reads them). */
  admin_policy?: AdminPolicySetting;
  /** Sources for private ports that name no `cidrs`. */
  private_cidrs: string[];
  kubernetes: {
    ports: KubernetesMode;
    custom_metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    allowed_contexts?: string[];
    ingress: { class: string; host?: string; tls: boolean };
  };
  aws: { vpc_name?: string; security_group_name?: string; use_internal_ips: boolean };
  gcp: { vpc_name: string };
  node: { port_range: PortRangeSetting; public_address?: string; backend: NodeBackend };
  guard: { max_close_share: number; allow_mass_close: boolean };
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A thing a provider holds (a Service, an Ingress, a security group, a firewall rule, a forward). */
export interface Resource {
  /** Stable across revisions and passes: `{cloud}/{cluster}/{kind}/{name}`. */
  id: string;
  cloud: Cloud;
  cluster: string;
  kind: string;
  name: string;
  /** The fields portcullis sets, as rendered. Providers compare only these. */
  body: JsonObject;
}

/** The files of the config repo at one revision: only `config.yaml` and `clusters/**\/*.y(a)ml`. */
export interface Snapshot {
  /** A git commit id, or `working-tree` for a directory read as it is. */
  revision: string;
  files: Map<string, string>;
  /** Problems met while reading (unreadable files, unsafe symlinks, oversize files). */
  problems: Problem[];
}

/** What the config repo at one revision asks for. */
export interface DesiredState {
  revision: string;
  settings: Settings;
  /** Clusters that loaded, checked and were admitted, sorted by name. */
  clusters: Cluster[];
  resources: Resource[];
  problems: Problem[];
  /** False when a settings file had an error: `settings` then holds defaults, and no cluster is trusted. */
  settingsOk: boolean;
  /** Files with an error that may have hidden a cluster: their clusters keep their last good state. */
  brokenFiles: string[];
  /** Clusters named in a document that failed: they keep their last good state too. */
  brokenClusters: string[];
  /** Every admin-policy violation of this revision, whatever its mode (enforce ones also appear in problems). */
  violations?: Violation[];
}

/** Port-level actions, for people: what a plan, a log line and a pull-request comment say. */
export type PortAction = 'open' | 'close' | 'change';

export interface PortChange {
  action: PortAction;
  cluster: string;
  cloud: Cloud;
  protocol: Protocol;
  /** `"N"` or `"A-B"` strings, ascending. */
  ports: string[];
  /** The exposure after the change (before it, for a close). */
  exposure: Exposure;
  cidrs: string[];
  /** For `change`: what the ports were before. */
  before?: { exposure: Exposure; cidrs: string[] };
  /** For `change` of a cluster's target (e.g. a new node address) rather than of its ports. */
  reason?: string;
  /** Where the change is declared: the head revision's spec, or the base revision's for a close. */
  at?: Position;
}

export interface PlanSummary {
  open: number;
  close: number;
  change: number;
}

export interface Plan {
  base: string;
  head: string;
  summary: PlanSummary;
  changes: PortChange[];
  problems: Problem[];
  /** Admin-policy violations at head, whatever their mode. */
  violations?: Violation[];
}

/** Resource-level actions, for the engine, logs and metric labels. */
export type ResourceAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ResourceChange {
  action: ResourceAction;
  id: string;
  cloud: Cloud;
  cluster: string;
  kind: string;
  name: string;
  desired?: Resource;
  actual?: Resource;
}
