import dgram from 'node:dgram';
import net from 'node:net';
import type { PortForwardOptions } from './tcp-forward.js';

export interface UdpSessionOptions {
  /** A client's session ends after this long without a datagram either way. */
  idleMs: number;
  /** Sessions one port keeps at most; past it, the longest idle one is ended for a new client. */
  max: number;
}

/** Datagrams a session holds while its instance socket is still connecting. */
const PENDING_MAX = 64;

/**
 * A client (ip:port) talking to the instance through the node port. It has its own socket, connected
 * to the instance, so the kernel drops datagrams from anyone else and replies go back to this client only.
 */
interface Session {
  upstream: dgram.Socket;
  /** Datagrams from the client before the upstream socket is connected; undefined once it is. */
  pending: Buffer[] | undefined;
  timer: NodeJS.Timeout;
}

/**
 * One UDP node port: datagrams from each client go to the instance from a socket of the client's own,
 * and replies from the instance go back to that client. Idle sessions end on a timer.
 */
export class UdpPortForward {
  readonly #socket: dgram.Socket;
  /** By `ip|port`, least recently active first. */
  readonly #sessions = new Map<string, Session>();
  #open = true;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly options: PortForwardOptions,
    readonly sessionOptions: UdpSessionOptions,
  ) {
    this.#socket = dgram.createSocket(net.isIPv6(options.host) ? 'udp6' : 'udp4');
    this.#socket.on('message', (message, client) => this.#receive(message, client));
  }

  /** Binds the node port; rejects with the bind error (EADDRINUSE, EACCES, ...) and holds nothing then. */
  static async listen(options: PortForwardOptions, sessionOptions: UdpSessionOptions): Promise<UdpPortForward> {
    const forward = new UdpPortForward(options, sessionOptions);
    const socket = forward.#socket;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      forward.#open = false;
      socket.close();
      throw error;
    }
    socket.on('error', options.onError);
    return forward;
  }

  get listening(): boolean {
    return this.#open;
  }

  /** How many client sessions are open now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Unbinds the port and ends every session; resolves once every socket is closed. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#open = false;
    const closing = [...this.#sessions.keys()].map((key) => this.#end(key));
    closing.push(new Promise<void>((resolve) => this.#socket.close(() => resolve())));
    await Promise.all(closing);
  }

  #receive(message: Buffer, client: dgram.RemoteInfo): void {
    if (!this.#open || !this.options.allows(client.address)) return;
    const key = `${client.address}|${client.port}`;
    const session = this.#sessions.get(key) ?? this.#start(key, client);
    this.#touch(key, session);
    if (session.pending) {
      if (session.pending.length < PENDING_MAX) session.pending.push(message);
      return;
    }
    session.upstream.send(message, (error) => {
      if (error) void this.#end(key, session);
    });
  }

  #start(key: string, client: dgram.RemoteInfo): Session {
    if (this.#sessions.size >= this.sessionOptions.max) {
      const idlest = this.#sessions.keys().next();
      if (!idlest.done) void this.#end(idlest.value);
    }
    const { address, port } = this.options.target;
    const upstream = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    const session: Session = {
      upstream,
      pending: [],
      timer: setTimeout(() => void this.#end(key, session), this.sessionOptions.idleMs),
    };
    // The timer alone must not keep the process alive; the sockets decide that.
    session.timer.unref();
    this.#sessions.set(key, session);
    // ECONNREFUSED (the instance's port is closed) and the like: the next datagram starts afresh.
    upstream.on('error', () => void this.#end(key, session));
    upstream.on('message', (reply) => {
      if (!this.#open || this.#sessions.get(key) !== session) return;
      this.#touch(key, session);
      // A client that went away is no error of the port's: ignore what sending to it reports.
      this.#socket.send(reply, client.port, client.address, () => {});
    });
    upstream.connect(port, address, (error?: Error) => {
      if (error) return void this.#end(key, session); // the instance's host name does not resolve, say
      const pending = session.pending ?? [];
      session.pending = undefined;
      if (this.#sessions.get(key) !== session) return;
      for (const datagram of pending) upstream.send(datagram, (error) => error && void this.#end(key, session));
    });
    return session;
  }

  /** Marks the session active: its idle timer starts again, and it moves to the back of the eviction order. */
  #touch(key: string, session: Session): void {
    session.timer.refresh();
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
  }

  /** Ends the session of `key`; given `only`, just if that is still the one (a late event of an ended session must not end its successor). */
  #end(key: string, only?: Session): Promise<void> {
    const session = this.#sessions.get(key);
    if (!session || (only && session !== only)) return Promise.resolve();
    this.#sessions.delete(key);
    clearTimeout(session.timer);
    return new Promise((resolve) => {
      try {
        session.upstream.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
