import type { Exposure, Protocol } from '../../model.js';

/**
 * One forward as a node backend holds it: node ports [nodePort, nodePort + size) lead to
 * address:[port, port + size), port by port. Everything here can be read back from the backend, so
 * what is observed compares field for field with what is desired.
 */
export interface NodeForward {
  /** The resource id, `node/{cluster}/Forward/{name}`: the ownership mark carries it. */
  id: string;
  cluster: string;
  protocol: Protocol;
  /** The instance: an IP address (the nftables backend needs one; userspace also takes a host name). */
  address: string;
  port: number;
  size: number;
  nodePort: number;
  /** Who may connect: CIDRs; empty means anyone. */
  sources: string[];
  exposure: Exposure;
}

/** Where forwards live: kernel rules (nftables) or the agent's own sockets (userspace). */
export interface NodeBackend {
  readonly name: 'nftables' | 'userspace';
  /** The forwards this backend holds that carry portcullis's mark, sorted by id. */
  list(): Promise<NodeForward[]>;
  /** Removes `remove` and adds `add` in one transaction: all of it happens, or none of it. */
  apply(add: readonly NodeForward[], remove: readonly NodeForward[]): Promise<void>;
  close(): Promise<void>;
}
