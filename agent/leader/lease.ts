// Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it: the
// holder renews the lease every retry period; another replica takes it over once it has seen the same
// lease record, unrenewed, for a whole lease duration (measured on its own clock, so clock skew between
// nodes does not matter); every write to the Lease carries the resourceVersion read, so of two replicas
// racing for it one gets 409 Conflict and loses.
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

export interface LeaseElectorOptions {
  namespace: string;
  name: string;
  /** Who this replica is: the pod name, else the hostname. */
  identity: string;
  /** How long a lease holds without renewal before another replica may take it. */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long stops writing, before anyone else can take over. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew. */
  retryPeriodMs?: number;
  now?: () => number;
  /** Told on every change of leadership. */
  onChange?: (leader: boolean) => void;
  /** Told when a try fails for a reason other than losing a race (the API server unreachable, forbidden). */
  onError?: (err: Error) => void;
}

export const LEASE_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export class LeaseElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  /** The lease as last read, and when (on our clock) its holder/renewTime last changed. */
  private observed: { key: string; at: number } | undefined;
  /** When we last renewed successfully, while we believe we lead. */
  private renewedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private leading = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: LeaseElectorOptions,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? LEASE_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = options.renewDeadlineMs ?? LEASE_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = options.retryPeriodMs ?? LEASE_DEFAULTS.retryPeriodMs;
    this.now = options.now ?? Date.now;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error(`leader election: the renew deadline (${this.renewDeadlineMs} ms) must be shorter than the lease duration (${this.leaseDurationMs} ms)`);
  }

  /**
   * Whether this replica may write right now: it holds the lease and renewed it within the renew
   * deadline. Checked before every write, so a leader cut off from the API server stops on its own
   * clock, before the lease can expire for the others.
   */
  isLeader(): boolean {
    const leader = this.leading && this.renewedAt !== undefined && this.now() - this.renewedAt < this.renewDeadlineMs;
    if (!leader && this.leading) this.setLeading(false);
    return leader;
  }

  /** Tries at once, then every retry period, until stopped. */
  start(): void {
    this.stopped = false;
    const loop = async () => {
      await this.tryAcquireOrRenew();
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.retryPeriodMs);
    };
    void loop();
  }

  /** Stops trying; a leader gives the lease up (`release`) so another replica need not wait for it to expire. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const wasLeader = this.isLeader();
    this.setLeading(false);
    if (wasLeader && options.release !== false) {
      await this.release().catch((err: unknown) => this.options.onError?.(err as Error));
    }
  }

  /** One round: acquire the lease if it is free or expired, renew it if ours. Returns whether we lead after it. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = this.now();
    try {
      const current = await this.read();
      if (!current) {
        await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(now, 0) } });
        return this.won(now);
      }
      const spec = current.spec ?? {};
      const key = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${current.metadata?.resourceVersion ?? ''}`;
      if (this.observed?.key !== key) this.observed = { key, at: now };
      const ours = spec.holderIdentity === identity;
      const held = spec.holderIdentity !== undefined && spec.holderIdentity !== '';
      const duration = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
      if (!ours && held && now - this.observed.at < duration) return this.lost();
      const transitions = (spec.leaseTransitions ?? 0) + (ours ? 0 : 1);
      const body: V1Lease = { ...current, spec: { ...this.spec(now, transitions), ...(ours && spec.acquireTime ? { acquireTime: spec.acquireTime } : {}) } };
      await this.api.replaceNamespacedLease({ namespace, name, body });
      return this.won(now);
    } catch (err) {
      if (err instanceof ApiException && (err.code === 409 || err.code === 404)) return this.lost();
      this.options.onError?.(err as Error);
      // Not renewed: isLeader() turns false on its own once the renew deadline passes.
      return this.isLeader();
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ namespace: this.options.namespace, name: this.options.name });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  private spec(now: number, transitions: number): NonNullable<V1Lease['spec']> {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: new V1MicroTime(now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: transitions,
    };
  }

  /** Empties the holder, so the next replica to look takes the lease at once. */
  private async release(): Promise<void> {
    const current = await this.read();
    if (current?.spec?.holderIdentity !== this.options.identity) return;
    const body: V1Lease = { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) } };
    await this.api.replaceNamespacedLease({ namespace: this.options.namespace, name: this.options.name, body });
  }

  private won(at: number): boolean {
    if (this.stopped) return false;
    this.renewedAt = at;
    this.setLeading(true);
    return true;
  }

  private lost(): boolean {
    this.renewedAt = undefined;
    this.setLeading(false);
    return false;
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.onChange?.(leading);
  }
}
