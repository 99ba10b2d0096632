import type { Cloud, Cluster, Exposure, Protocol, Resource, ResourceChange, Settings } from '../model.js';

/** Where a port of a cluster can be reached, as `status --endpoints` shows it. */
export interface Endpoint {
  cluster: string;
  protocol: Protocol;
  /** The cluster's port or range: `"8888"`, `"10020-10040"`. */
  ports: string;
  exposure: Exposure;
  /** `host:port`, `host:from-to`, or a URL; empty while pending. */
  address: string;
  /** The route through an intermediary, when there is one: the node port a forward listens on. */
  via?: string;
  state: 'ready' | 'pending';
  /** Why it is pending and what may be wrong, once it has been pending for a while. */
  hint?: string;
}

/** A cluster the provider cannot serve as asked (no free node ports, say): it keeps what it has. */
export interface ClusterProblem {
  cluster: string;
  message: string;
}

/** What a provider is told about the pass it takes part in. */
export interface ProviderScope {
  settings: Settings;
  /** The config revision this pass applies: providers stamp it on what they write, outside the compared body. */
  revision: string;
  /** Clusters of this provider's cloud that Git asks for (including ones kept at their last good state). */
  clusters: Cluster[];
  /** Names of clusters this provider held resources for at the last pass: it must look for them too, to close them. */
  known: string[];
}

/**
 * A provider does three things: observe the resources it owns, apply a change, and say where
 * endpoints are. The engine, not the provider, diffs, orders, retries, guards and records.
 */
export interface Provider {
  readonly cloud: Cloud;
  /** Resources carrying portcullis's ownership mark, as they are now. Nothing else is ever returned. */
  observe(scope: ProviderScope): Promise<Resource[]>;
  /**
   * Completes rendered resources with what only the provider can decide from what it observes (node ports
   * keep the number they have). Pure: same inputs, same output. Absent when rendered resources are final.
   */
  complete?(desired: Resource[], actual: Resource[], scope: ProviderScope): { resources: Resource[]; problems: ClusterProblem[] };
  /** Applies one change. Throws a ProviderError. */
  apply?(change: ResourceChange, scope: ProviderScope): Promise<void>;
  /** Applies every change of a pass as one transaction (all or nothing), for backends that have them. */
  applyBatch?(changes: ResourceChange[], scope: ProviderScope): Promise<void>;
  endpoints(cluster: Cluster, actual: Resource[], scope: ProviderScope): Endpoint[];
  /**
   * Calls `drift` when someone changes or deletes a resource this provider owns, so self-heal takes
   * seconds rather than a resync interval. Returns a function that stops watching.
   */
  watch?(drift: (why: string) => void): () => void;
  /** Releases sockets, watches and clients. */
  close?(): Promise<void>;
}

/** A provider failure, with whether trying again may help (throttling, timeouts, 5xx) or not (bad request, forbidden). */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
