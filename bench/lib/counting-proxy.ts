// A TCP proxy on 127.0.0.1 that counts the bytes going each way and the connections made: what a fetch costs
// on the wire, whatever protocol runs over it.
import net from 'node:net';

export interface Traffic {
  connections: number;
  /** Client → server. */
  up: number;
  /** Server → client. */
  down: number;
}

export interface CountingProxy {
  readonly port: number;
  /** The traffic since the last reset. */
  traffic(): Traffic;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  let counts: Traffic = { connections: 0, up: 0, down: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    counts.connections++;
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => (counts.up += chunk.length));
    upstream.on('data', (chunk: Buffer) => (counts.down += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    traffic: () => ({ ...counts }),
    reset: () => void (counts = { connections: 0, up: 0, down: 0 }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
