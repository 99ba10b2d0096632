import net from 'node:net';
import { ProviderError } from '../provider.js';
import type { NodeBackend, NodeForward } from './backend.js';
import { TcpPortForward, type PortForwardOptions } from './tcp-forward.js';
import { UdpPortForward } from './udp-forward.js';

export interface UserspaceOptions {
  /** Address the node ports listen on; default '0.0.0.0' (tests use '127.0.0.1'). */
  listenHost?: string;
  /** A UDP client's session ends after this long without traffic; default 60 s. */
  udpIdleMs?: number;
  /** UDP sessions one node port keeps at most; default 1024. */
  udpMaxSessions?: number;
  /** Errors of a listening port (not of single connections), for the agent's log. */
  onError?: (error: Error, forward: NodeForward) => void;
}

/** One node port of a forward, whichever the protocol. */
interface OpenPort {
  readonly listening: boolean;
  close(): Promise<void>;
}

interface Held {
  forward: NodeForward;
  ports: OpenPort[];
}

/** Listen errors that may go away on their own, so trying again next pass makes sense. */
const TRANSIENT = new Set(['EADDRINUSE', 'EMFILE', 'ENFILE', 'ENOBUFS']);

const EXPLAIN: Record<string, string> = {
  EADDRINUSE: 'another program holds the port',
  EACCES: 'ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a node.port_range above 1024',
  EADDRNOTAVAIL: 'the listen address is not one of this machine',
};

/**
 * The userspace node backend: the agent itself listens on every node port and relays traffic to the
 * instance. It needs no root and no nftables, so it also runs the bundled example. What it holds lives
 * in this process only: a restarted agent starts empty and the next pass opens everything again.
 */
export class UserspaceBackend implements NodeBackend {
  readonly name = 'userspace' as const;
  /** Applies that changed something. */
  transactions = 0;
  readonly #host: string;
  readonly #udp: { idleMs: number; max: number };
  readonly #onError: (error: Error, forward: NodeForward) => void;
  readonly #held = new Map<string, Held>();
  /** list, apply and close run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: UserspaceOptions = {}) {
    this.#host = options.listenHost ?? '0.0.0.0';
    this.#udp = { idleMs: options.udpIdleMs ?? 60_000, max: options.udpMaxSessions ?? 1024 };
    this.#onError = options.onError ?? (() => {});
  }

  /** The forwards whose every port is listening now, sorted by id. A forward that lost a port is left out, so the next pass opens it again. */
  list(): Promise<NodeForward[]> {
    // Queued behind a running apply, so it never sees one half done.
    return this.#serially(async () =>
      [...this.#held.values()]
        .filter((held) => held.ports.every((p) => p.listening))
        .map((held) => copy(held.forward))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
  }

  apply(add: readonly NodeForward[], remove: readonly NodeForward[]): Promise<void> {
    return this.#serially(() => this.#apply(add, remove));
  }

  /** Closes every port, connection and UDP session; resolves when all are closed. */
  close(): Promise<void> {
    return this.#serially(async () => {
      this.#closed = true;
      const held = [...this.#held.values()];
      this.#held.clear();
      await Promise.all(held.map(closeHeld));
    });
  }

  async #apply(add: readonly NodeForward[], remove: readonly NodeForward[]): Promise<void> {
    if (this.#closed) throw new ProviderError('userspace backend: apply after close', false);
    const filters = check(add);
    // An added forward already held (stale, or its ports lost) is replaced, unless it is held as asked and healthy.
    const removeIds = new Set(remove.map((f) => f.id));
    const toOpen = add.filter((f) => removeIds.has(f.id) || !this.#healthy(f));
    for (const f of toOpen) removeIds.add(f.id);
    const toClose = [...removeIds].flatMap((id) => {
      const held = this.#held.get(id);
      return held ? [held] : [];
    });
    if (toOpen.length === 0 && toClose.length === 0) return;

    for (const held of toClose) this.#held.delete(held.forward.id);
    await Promise.all(toClose.map(closeHeld));
    const opened: Held[] = [];
    try {
      for (const forward of toOpen) {
        const held = await this.#open(forward, filters.get(forward.id)!);
        opened.push(held);
        this.#held.set(forward.id, held);
      }
    } catch (error) {
      await this.#rollBack(opened, toClose, error);
    }
    this.transactions++;
  }

  /** Puts things back as they were before a failed apply, then throws the failure. */
  async #rollBack(opened: Held[], closed: Held[], error: unknown): Promise<never> {
    for (const held of opened) this.#held.delete(held.forward.id);
    await Promise.all(opened.map(closeHeld));
    const lost: string[] = [];
    for (const { forward } of closed) {
      try {
        this.#held.set(forward.id, await this.#open(forward, sourceFilter(forward.sources)));
      } catch {
        lost.push(forward.id);
      }
    }
    if (error instanceof ProviderError && lost.length > 0) {
      throw new ProviderError(`${error.message}; could not restore ${lost.join(', ')}`, error.transient, { cause: error.cause });
    }
    throw error;
  }

  /** Opens every port of a forward, or none: a port that fails closes the ones opened before it. */
  async #open(forward: NodeForward, allows: (address: string) => boolean): Promise<Held> {
    const ports: OpenPort[] = [];
    for (let i = 0; i < forward.size; i++) {
      const options: PortForwardOptions = {
        host: this.#host,
        port: forward.nodePort + i,
        target: { address: forward.address, port: forward.port + i },
        allows,
        onError: (error) => this.#onError(error, forward),
      };
      try {
        ports.push(forward.protocol === 'udp' ? await UdpPortForward.listen(options, this.#udp) : await TcpPortForward.listen(options));
      } catch (error) {
        await Promise.all(ports.map((p) => p.close()));
        throw listenError(forward, options, error);
      }
    }
    return { forward: copy(forward), ports };
  }

  #healthy(forward: NodeForward): boolean {
    const held = this.#held.get(forward.id);
    return held !== undefined && held.ports.every((p) => p.listening) && same(held.forward, forward);
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }
}

export function createUserspaceBackend(options?: UserspaceOptions): UserspaceBackend {
  return new UserspaceBackend(options);
}

/**
 * Whether a peer may connect: its address is in one of the CIDRs (a bare address is one host).
 * No CIDRs means anyone. IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`) match IPv4 CIDRs.
 */
export function sourceFilter(sources: readonly string[]): (address: string) => boolean {
  if (sources.length === 0) return () => true;
  const list = new net.BlockList();
  for (const source of sources) {
    const [address = '', prefix, ...rest] = source.split('/');
    const type = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (rest.length > 0 || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) throw new Error(`${source} is not a CIDR`);
    // addSubnet throws on an address that is not an IP, or a prefix too long for its family.
    list.addSubnet(address, prefix === undefined ? (type === 'ipv6' ? 128 : 32) : Number(prefix), type);
  }
  return (address) => list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** Refuses a batch the backend cannot hold before anything is touched; returns each forward's source filter. */
function check(add: readonly NodeForward[]): Map<string, (address: string) => boolean> {
  const filters = new Map<string, (address: string) => boolean>();
  for (const f of add) {
    const bad = (why: string): ProviderError => new ProviderError(`${f.id}: ${why}`, false);
    if (filters.has(f.id)) throw bad('added twice in one apply');
    if (!Number.isInteger(f.size) || f.size < 1) throw bad(`size ${f.size} is not a positive integer`);
    for (const [what, start] of [['node port', f.nodePort], ['port', f.port]] as const) {
      if (!Number.isInteger(start) || start < 1 || start + f.size - 1 > 65535) {
        throw bad(`${what} range ${start}-${start + f.size - 1} is outside 1-65535`);
      }
    }
    try {
      filters.set(f.id, sourceFilter(f.sources));
    } catch (error) {
      throw new ProviderError(`${f.id}: sources ${JSON.stringify(f.sources)} are not CIDRs`, false, { cause: error });
    }
  }
  return filters;
}

function listenError(forward: NodeForward, options: PortForwardOptions, error: unknown): ProviderError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
  const detail = EXPLAIN[code] ?? (error instanceof Error ? error.message : String(error));
  return new ProviderError(
    `${forward.id}: cannot listen on ${forward.protocol} port ${options.port} (${options.host}): ${code}, ${detail}`,
    TRANSIENT.has(code),
    { cause: error },
  );
}

async function closeHeld(held: Held): Promise<void> {
  await Promise.all(held.ports.map((p) => p.close()));
}

function copy(f: NodeForward): NodeForward {
  return { ...f, sources: [...f.sources] };
}

function same(a: NodeForward, b: NodeForward): boolean {
  return (
    a.cluster === b.cluster &&
    a.protocol === b.protocol &&
    a.address === b.address &&
    a.port === b.port &&
    a.size === b.size &&
    a.nodePort === b.nodePort &&
    a.exposure === b.exposure &&
    a.sources.length === b.sources.length &&
    a.sources.every((s, i) => s === b.sources[i])
  );
}
