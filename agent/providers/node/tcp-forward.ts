import net from 'node:net';
import { pipeline } from 'node:stream';

/** Where one node port leads, and who may use it. Shared by the TCP and UDP forwards. */
export interface PortForwardOptions {
  /** Address the node port listens on. */
  host: string;
  port: number;
  /** The instance: an IP address or a host name. */
  target: { address: string; port: number };
  /** Whether a peer address may use the port (the forward's `sources`). */
  allows: (address: string) => boolean;
  /** Errors of the listener itself, after it listens (per-connection errors are the peers' business). */
  onError: (error: Error) => void;
}

/**
 * One TCP node port: accepts connections and pipes each one to the instance, both ways. Every socket it
 * creates is tracked, so closing the port ends its connections too: a closed port is really closed.
 */
export class TcpPortForward {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #closing: Promise<void> | undefined;

  private constructor(readonly options: PortForwardOptions) {
    // allowHalfOpen: a client that shuts down its side still gets the instance's reply.
    this.#server = net.createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
  }

  /** Listens on the node port; rejects with the listen error (EADDRINUSE, EACCES, ...) and holds nothing then. */
  static async listen(options: PortForwardOptions): Promise<TcpPortForward> {
    const forward = new TcpPortForward(options);
    const server = forward.#server;
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => {
        server.off('listening', listening);
        reject(error);
      };
      const listening = (): void => {
        server.off('error', failed);
        resolve();
      };
      server.once('error', failed);
      server.once('listening', listening);
      server.listen({ host: options.host, port: options.port });
    });
    server.on('error', options.onError);
    return forward;
  }

  get listening(): boolean {
    return this.#closing === undefined && this.#server.listening;
  }

  /** How many sockets (client and instance side) are open now. */
  get sockets(): number {
    return this.#sockets.size;
  }

  /** Stops listening and ends every connection; resolves once every handle is closed. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => {
      // Called with ERR_SERVER_NOT_RUNNING when it was not listening: closed either way.
      this.#server.close(() => resolve());
    });
    const sockets = [...this.#sockets];
    for (const socket of sockets) socket.destroy();
    await Promise.all([serverClosed, ...sockets.map(closed)]);
  }

  #accept(client: net.Socket): void {
    const peer = client.remoteAddress;
    if (this.#closing || peer === undefined || !this.options.allows(peer)) {
      client.destroy();
      return;
    }
    const { address, port } = this.options.target;
    const upstream = net.connect({ host: address, port, allowHalfOpen: true });
    this.#track(client);
    this.#track(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const abort = (error?: Error | null): void => {
      if (!error) return;
      client.destroy();
      upstream.destroy();
    };
    // Errors also reach the pipelines' callbacks; these listeners keep a late one from going unhandled.
    client.on('error', abort);
    upstream.on('error', abort);
    // Each direction ends on its own (half-close); an error in either destroys both sockets.
    pipeline(client, upstream, abort);
    pipeline(upstream, client, abort);
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}

function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
