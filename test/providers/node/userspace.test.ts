import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeForward } from '../../../agent/providers/node/backend.js';
import { createUserspaceBackend, sourceFilter, type UserspaceBackend, type UserspaceOptions } from '../../../agent/providers/node/userspace.js';
import { ProviderError } from '../../../agent/providers/provider.js';

const HOST = '127.0.0.1';

// ---- ports and instances -------------------------------------------------------------------------

async function listenTcp(server: net.Server, port = 0): Promise<number> {
  server.listen(port, HOST);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** `count` distinct TCP ports that are free now (held together while chosen, so no two are the same). */
async function freeTcpPorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  const ports = await Promise.all(servers.map((s) => listenTcp(s)));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function freeTcpPort(): Promise<number> {
  const [port] = await freeTcpPorts(1);
  return port!;
}

/** `size` consecutive TCP ports that are free now. */
async function freeTcpRange(size: number): Promise<number> {
  for (;;) {
    const start = 20000 + Math.floor(Math.random() * 30000);
    const servers: net.Server[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const server = net.createServer();
        servers.push(server);
        await listenTcp(server, start + i);
      }
      return start;
    } catch {
      // taken: try another start
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, HOST);
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** A TCP instance: `respond` handles each connection. Closed when the test ends. */
async function tcpInstance(t: TestContext, respond: (socket: net.Socket) => void, port = 0): Promise<{ port: number; server: net.Server; connections: number }> {
  const state = { port: 0, server: net.createServer({ allowHalfOpen: true }), connections: 0 };
  const sockets = new Set<net.Socket>();
  state.server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    respond(socket);
  });
  state.port = await listenTcp(state.server, port);
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => state.server.close(resolve));
  });
  return state;
}

const echo = (socket: net.Socket): void => void socket.pipe(socket);

/** A UDP instance that answers each datagram with `reply(datagram, from)`. */
async function udpInstance(t: TestContext, reply: (message: Buffer, from: dgram.RemoteInfo) => Buffer): Promise<{ port: number; senders: number[] }> {
  const socket = dgram.createSocket('udp4');
  const senders: number[] = [];
  socket.on('message', (message, from) => {
    senders.push(from.port);
    socket.send(reply(message, from), from.port, from.address);
  });
  socket.bind(0, HOST);
  await once(socket, 'listening');
  t.after(() => new Promise<void>((resolve) => socket.close(resolve)));
  return { port: socket.address().port, senders };
}

// ---- clients -------------------------------------------------------------------------------------

/** Connects, sends `payload`, shuts down the write side, and returns all the reply. */
async function exchange(port: number, payload: Buffer | string): Promise<Buffer> {
  const socket = net.connect(port, HOST);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.end(payload);
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks);
}

/** What happens to a connection to `port`: refused, or closed by the far side with what it sent. */
async function outcome(port: number): Promise<{ refused: true } | { refused: false; received: string }> {
  const socket = net.connect(port, HOST);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  try {
    await once(socket, 'close');
  } catch (error) {
    socket.destroy();
    if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') return { refused: true };
    return { refused: false, received };
  }
  return { refused: false, received };
}

async function udpAsk(socket: dgram.Socket, port: number, message: string): Promise<string> {
  socket.send(message, port, HOST);
  const [reply] = (await once(socket, 'message', { signal: AbortSignal.timeout(2000) })) as [Buffer];
  return reply.toString();
}

async function udpClient(t: TestContext): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, HOST);
  await once(socket, 'listening');
  t.after(() => new Promise<void>((resolve) => socket.close(resolve)));
  return socket;
}

// ---- the backend ---------------------------------------------------------------------------------

function forward(fields: Partial<NodeForward> & Pick<NodeForward, 'port' | 'nodePort'>): NodeForward {
  const { id = 'web', ...rest } = fields;
  return { cluster: 'demo', protocol: 'tcp', address: HOST, size: 1, sources: [], exposure: 'public', ...rest, id: `node/demo/Forward/${id}` };
}

function backend(t: TestContext, options: UserspaceOptions = {}): UserspaceBackend {
  const b = createUserspaceBackend({ listenHost: HOST, ...options });
  t.after(() => b.close());
  return b;
}

describe('userspace node backend: TCP', { timeout: 15_000 }, () => {
  it('relays a connection to the instance, and list() reads back what was added', async (t) => {
    const instance = await tcpInstance(t, (s) => s.end('hello from the instance'));
    const b = backend(t);
    const f = forward({ port: instance.port, nodePort: await freeTcpPort(), sources: ['127.0.0.0/8'] });
    await b.apply([f], []);
    assert.equal(b.name, 'userspace');
    assert.equal(b.transactions, 1);
    assert.deepEqual(await b.list(), [f]);
    assert.equal((await exchange(f.nodePort, '')).toString(), 'hello from the instance');
  });

  it('carries 1 MiB both ways intact', async (t) => {
    const instance = await tcpInstance(t, echo);
    const b = backend(t);
    const f = forward({ port: instance.port, nodePort: await freeTcpPort() });
    await b.apply([f], []);
    const payload = randomBytes(1024 * 1024);
    const reply = await exchange(f.nodePort, payload);
    assert.equal(reply.length, payload.length);
    assert.ok(reply.equals(payload));
  });

  it('passes a client half-close on and still delivers the reply', async (t) => {
    // The instance answers only once it has seen the end of the client's data.
    const instance = await tcpInstance(t, (s) => {
      let bytes = 0;
      s.on('data', (chunk: Buffer) => (bytes += chunk.length));
      s.on('end', () => s.end(`got ${bytes} bytes`));
    });
    const b = backend(t);
    const f = forward({ port: instance.port, nodePort: await freeTcpPort() });
    await b.apply([f], []);
    assert.equal((await exchange(f.nodePort, 'x'.repeat(70_000))).toString(), 'got 70000 bytes');
  });

  it('closes the port and its open connections when the forward is removed', async (t) => {
    const instance = await tcpInstance(t, echo);
    const b = backend(t);
    const f = forward({ port: instance.port, nodePort: await freeTcpPort() });
    await b.apply([f], []);
    const client = net.connect(f.nodePort, HOST);
    client.on('error', () => {});
    t.after(() => void client.destroy());
    client.write('ping');
    const [data] = (await once(client, 'data')) as [Buffer];
    assert.equal(data.toString(), 'ping');

    const closed = once(client, 'close');
    await b.apply([], [f]);
    await closed;
    assert.deepEqual(await outcome(f.nodePort), { refused: true });
    assert.deepEqual(await b.list(), []);
    assert.equal(b.transactions, 2);
  });

  it('forwards each port of a range to the matching instance port', async (t) => {
    const instanceStart = await freeTcpRange(3);
    for (let i = 0; i < 3; i++) await tcpInstance(t, (s) => s.end(`instance port ${instanceStart + i}`), instanceStart + i);
    const b = backend(t);
    const f = forward({ port: instanceStart, size: 3, nodePort: await freeTcpRange(3) });
    await b.apply([f], []);
    for (let i = 0; i < 3; i++) {
      assert.equal((await exchange(f.nodePort + i, '')).toString(), `instance port ${instanceStart + i}`);
    }
    assert.deepEqual(await outcome(f.nodePort + 3), { refused: true });
  });

  it('refuses peers outside sources, and never reaches the instance for them', async (t) => {
    const instance = await tcpInstance(t, (s) => s.end('secret'));
    const b = backend(t);
    const [closedPort, openPort] = (await freeTcpPorts(2)) as [number, number];
    const closed = forward({ id: 'closed', port: instance.port, nodePort: closedPort, sources: ['10.0.0.0/8'] });
    const open = forward({ id: 'open', port: instance.port, nodePort: openPort, sources: ['10.0.0.0/8', '127.0.0.1'] });
    await b.apply([closed, open], []);
    assert.deepEqual(await outcome(closed.nodePort), { refused: false, received: '' });
    assert.equal(instance.connections, 0);
    assert.deepEqual(await outcome(open.nodePort), { refused: false, received: 'secret' });
    assert.equal(instance.connections, 1);
  });

  it('closes the client when the instance refuses, and keeps listening', async (t) => {
    const b = backend(t);
    const [closedPort, nodePort] = (await freeTcpPorts(2)) as [number, number];
    const f = forward({ port: closedPort, nodePort });
    await b.apply([f], []);
    assert.deepEqual(await outcome(f.nodePort), { refused: false, received: '' });
    assert.deepEqual(await b.list(), [f]);
  });

  it('replaces a changed forward and leaves an unchanged one alone', async (t) => {
    const first = await tcpInstance(t, (s) => s.end('first'));
    const second = await tcpInstance(t, (s) => s.end('second'));
    const b = backend(t);
    const before = forward({ port: first.port, nodePort: await freeTcpPort() });
    await b.apply([before], []);
    await b.apply([before], []);
    assert.equal(b.transactions, 1, 'adding what is held as asked changes nothing');
    const after = { ...before, port: second.port };
    await b.apply([after], [before]);
    assert.equal(b.transactions, 2);
    assert.deepEqual(await b.list(), [after]);
    assert.equal((await exchange(after.nodePort, '')).toString(), 'second');
  });
});

describe('userspace node backend: UDP', { timeout: 15_000 }, () => {
  it('relays datagrams and sends each reply to the client that asked', async (t) => {
    const instance = await udpInstance(t, (m) => Buffer.from(`echo ${m.toString()}`));
    const b = backend(t);
    const f = forward({ protocol: 'udp', port: instance.port, nodePort: await freeUdpPort() });
    await b.apply([f], []);
    assert.deepEqual(await b.list(), [f]);
    const alice = await udpClient(t);
    const bob = await udpClient(t);
    assert.equal(await udpAsk(alice, f.nodePort, 'alice'), 'echo alice');
    assert.equal(await udpAsk(bob, f.nodePort, 'bob'), 'echo bob');
    assert.equal(await udpAsk(alice, f.nodePort, 'again'), 'echo again');
    // Two clients, two sessions: the instance saw two source ports, alice's reused.
    assert.equal(new Set(instance.senders).size, 2);
    assert.equal(instance.senders[0], instance.senders[2]);
  });

  it('keeps a session while it is active and ends it once idle', async (t) => {
    const instance = await udpInstance(t, (m) => m);
    const b = backend(t, { udpIdleMs: 300 });
    const f = forward({ protocol: 'udp', port: instance.port, nodePort: await freeUdpPort() });
    await b.apply([f], []);
    const client = await udpClient(t);
    for (let i = 0; i < 5; i++) {
      assert.equal(await udpAsk(client, f.nodePort, `ping ${i}`), `ping ${i}`);
      await sleep(100);
    }
    assert.equal(new Set(instance.senders).size, 1, 'activity keeps the session');
    await sleep(600);
    assert.equal(await udpAsk(client, f.nodePort, 'after idle'), 'after idle');
    assert.equal(new Set(instance.senders).size, 2, 'an idle session ends; the next datagram starts a new one');
  });

  it('ends the longest idle session when a port holds the most it may', async (t) => {
    const instance = await udpInstance(t, (m) => m);
    const b = backend(t, { udpMaxSessions: 1 });
    const f = forward({ protocol: 'udp', port: instance.port, nodePort: await freeUdpPort() });
    await b.apply([f], []);
    const alice = await udpClient(t);
    const bob = await udpClient(t);
    assert.equal(await udpAsk(alice, f.nodePort, 'a1'), 'a1');
    assert.equal(await udpAsk(bob, f.nodePort, 'b1'), 'b1');
    assert.equal(await udpAsk(alice, f.nodePort, 'a2'), 'a2');
    assert.equal(new Set(instance.senders).size, 3, "bob's session pushed alice's out; she came back with a new one");
  });

  it('drops datagrams from peers outside sources', async (t) => {
    const instance = await udpInstance(t, (m) => m);
    const b = backend(t);
    const f = forward({ protocol: 'udp', port: instance.port, nodePort: await freeUdpPort(), sources: ['10.0.0.0/8'] });
    await b.apply([f], []);
    const client = await udpClient(t);
    await assert.rejects(udpAsk(client, f.nodePort, 'let me in'), { name: 'AbortError' });
    assert.deepEqual(instance.senders, []);
  });
});

describe('userspace node backend: IPv6', { timeout: 15_000 }, () => {
  it('forwards TCP and UDP to an IPv6 instance, and listens on IPv6', async (t) => {
    const tcp = net.createServer((s) => s.end(`tcp from ${s.remoteAddress}`));
    const udp = dgram.createSocket('udp6');
    try {
      tcp.listen(0, '::1');
      await once(tcp, 'listening');
    } catch {
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    t.after(() => new Promise((resolve) => tcp.close(resolve)));
    udp.on('message', (m, from) => udp.send(`udp ${m.toString()} from ${from.family}`, from.port, from.address));
    udp.bind(0, '::1');
    await once(udp, 'listening');
    t.after(() => new Promise<void>((resolve) => udp.close(resolve)));

    // IPv4 node ports in front of an IPv6 instance.
    const b = backend(t);
    const tcpForward = forward({ id: 'tcp6', address: '::1', port: (tcp.address() as net.AddressInfo).port, nodePort: await freeTcpPort() });
    const udpForward = forward({ id: 'udp6', protocol: 'udp', address: '::1', port: udp.address().port, nodePort: await freeUdpPort() });
    await b.apply([tcpForward, udpForward], []);
    assert.equal((await exchange(tcpForward.nodePort, '')).toString(), 'tcp from ::1');
    assert.equal(await udpAsk(await udpClient(t), udpForward.nodePort, 'hi'), 'udp hi from IPv6');

    // IPv6 node ports, with sources naming the IPv6 loopback only.
    const b6 = backend(t, { listenHost: '::1' });
    const tcpNode6 = forward({ ...tcpForward, nodePort: await freeTcpPort(), sources: ['::1/128'] });
    await b6.apply([tcpNode6], []);
    const client = net.connect(tcpNode6.nodePort, '::1');
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    await once(client, 'close');
    assert.equal(Buffer.concat(chunks).toString(), 'tcp from ::1');
  });
});

describe('userspace node backend: transactions', { timeout: 15_000 }, () => {
  it('rolls a failed apply back: what it opened is closed, what it closed is open again', async (t) => {
    const instance = await tcpInstance(t, (s) => s.end('kept'));
    const blocker = net.createServer();
    const taken = await listenTcp(blocker);
    t.after(() => new Promise((resolve) => blocker.close(resolve)));
    const b = backend(t);
    const kept = forward({ id: 'kept', port: instance.port, nodePort: await freeTcpPort() });
    await b.apply([kept], []);
    const before = await b.list();

    const fresh = forward({ id: 'fresh', port: instance.port, nodePort: await freeTcpPort() });
    const clash = forward({ id: 'clash', port: instance.port, nodePort: taken });
    const error = await b.apply([fresh, clash], [kept]).then(
      () => assert.fail('apply should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProviderError);
    assert.equal(error.transient, true);
    assert.match(error.message, new RegExp(`node/demo/Forward/clash: cannot listen on tcp port ${taken} .*EADDRINUSE`));
    assert.deepEqual(await b.list(), before);
    assert.equal(b.transactions, 1);
    assert.deepEqual(await outcome(fresh.nodePort), { refused: true });
    assert.equal((await exchange(kept.nodePort, '')).toString(), 'kept');
  });

  it('closes the ports a range opened when a later port of it is taken', async (t) => {
    const start = await freeTcpRange(3);
    const blocker = net.createServer();
    await listenTcp(blocker, start + 2);
    t.after(() => new Promise((resolve) => blocker.close(resolve)));
    const b = backend(t);
    const f = forward({ port: 9, size: 3, nodePort: start });
    await assert.rejects(b.apply([f], []), (e: unknown) => e instanceof ProviderError && e.message.includes(`port ${start + 2}`));
    assert.deepEqual(await b.list(), []);
    assert.deepEqual(await outcome(start), { refused: true });
    assert.deepEqual(await outcome(start + 1), { refused: true });
  });

  it('fails on a UDP port that is taken, and lists nothing for it', async (t) => {
    const blocker = dgram.createSocket('udp4');
    blocker.bind(0, HOST);
    await once(blocker, 'listening');
    t.after(() => new Promise<void>((resolve) => blocker.close(resolve)));
    const b = backend(t);
    const f = forward({ protocol: 'udp', port: 9, nodePort: blocker.address().port });
    await assert.rejects(b.apply([f], []), (e: unknown) => e instanceof ProviderError && e.transient && /EADDRINUSE/.test(e.message));
    assert.deepEqual(await b.list(), []);
  });

  it('refuses bad forwards before touching anything', async (t) => {
    const b = backend(t);
    const good = forward({ id: 'good', port: 9, nodePort: await freeTcpPort() });
    await b.apply([good], []);
    for (const bad of [
      forward({ id: 'bad', port: 9, nodePort: 65535, size: 2 }),
      forward({ id: 'bad', port: 9, nodePort: 30000, sources: ['not-a-cidr'] }),
      forward({ id: 'bad', port: 9, nodePort: 30000, sources: ['10.0.0.0/33'] }),
    ]) {
      await assert.rejects(b.apply([bad], [good]), (e: unknown) => e instanceof ProviderError && !e.transient && e.message.startsWith('node/demo/Forward/bad: '));
      assert.deepEqual(await b.list(), [good]);
    }
  });

  it('close() releases every listener, connection and UDP session', async (t) => {
    const tcp = await tcpInstance(t, echo);
    const udp = await udpInstance(t, (m) => m);
    const b = createUserspaceBackend({ listenHost: HOST });
    const tcpForward = forward({ id: 'tcp', port: tcp.port, nodePort: await freeTcpPort() });
    const udpForward = forward({ id: 'udp', protocol: 'udp', port: udp.port, nodePort: await freeUdpPort() });
    await b.apply([tcpForward, udpForward], []);
    const client = net.connect(tcpForward.nodePort, HOST);
    client.on('error', () => {});
    t.after(() => void client.destroy());
    client.write('hold');
    await once(client, 'data');
    const udpClientSocket = await udpClient(t);
    assert.equal(await udpAsk(udpClientSocket, udpForward.nodePort, 'hi'), 'hi');
    const [sessionPort] = udp.senders;

    const clientClosed = once(client, 'close');
    await b.close();
    await clientClosed;
    assert.deepEqual(await b.list(), []);
    assert.deepEqual(await outcome(tcpForward.nodePort), { refused: true });
    await assert.rejects(b.apply([tcpForward], []), ProviderError);
    // Every port the backend held can be bound again: the UDP listener and the session's own socket too.
    for (const port of [udpForward.nodePort, sessionPort!]) {
      const probe = dgram.createSocket('udp4');
      probe.bind(port, HOST);
      await once(probe, 'listening');
      await new Promise<void>((resolve) => probe.close(resolve));
    }
  });

  it('close() leaves nothing that keeps the process alive', async () => {
    // A child process sets up forwards with live traffic, closes everything, and must then exit on its own.
    const module = new URL('../../../agent/providers/node/userspace.ts', import.meta.url).href;
    const script = `
      import net from 'node:net';
      import dgram from 'node:dgram';
      import { once } from 'node:events';
      import { createUserspaceBackend } from '${module}';
      const tcp = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
      tcp.listen(0, '127.0.0.1'); await once(tcp, 'listening');
      const udp = dgram.createSocket('udp4');
      udp.on('message', (m, from) => udp.send(m, from.port, from.address));
      udp.bind(0, '127.0.0.1'); await once(udp, 'listening');
      const free = async (make) => { const s = make(); await once(s, 'listening'); const p = s.address().port; await new Promise((r) => s.close(r)); return p; };
      const tcpNode = await free(() => net.createServer().listen(0, '127.0.0.1'));
      const udpNode = await free(() => dgram.createSocket('udp4').bind(0, '127.0.0.1'));
      const base = { cluster: 'demo', address: '127.0.0.1', size: 1, sources: [], exposure: 'public' };
      const b = createUserspaceBackend({ listenHost: '127.0.0.1' });
      await b.apply([
        { ...base, id: 'node/demo/Forward/tcp', protocol: 'tcp', port: tcp.address().port, nodePort: tcpNode },
        { ...base, id: 'node/demo/Forward/udp', protocol: 'udp', port: udp.address().port, nodePort: udpNode },
      ], []);
      const client = net.connect(tcpNode, '127.0.0.1'); client.on('error', () => {});
      client.write('x'); await once(client, 'data');
      const u = dgram.createSocket('udp4'); u.bind(0, '127.0.0.1'); await once(u, 'listening');
      u.send('y', udpNode, '127.0.0.1'); await once(u, 'message');
      const clientClosed = once(client, 'close');
      await b.close();
      await clientClosed;
      u.close(); udp.close(); tcp.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, `the child did not exit on its own: ${output}`);
    assert.equal(code, 0, output);
    assert.equal(output.trim(), 'closed');
  });
});

describe('sourceFilter', () => {
  it('matches CIDRs, bare addresses and IPv4-mapped peers; empty means anyone', () => {
    const allows = sourceFilter(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    assert.equal(allows('10.200.0.1'), true);
    assert.equal(allows('::ffff:10.1.2.3'), true);
    assert.equal(allows('192.168.1.7'), true);
    assert.equal(allows('192.168.1.8'), false);
    assert.equal(allows('fd12::1'), true);
    assert.equal(allows('fe80::1'), false);
    assert.equal(allows('127.0.0.1'), false);
    assert.equal(sourceFilter([])('203.0.113.9'), true);
    assert.throws(() => sourceFilter(['10.0.0.0/8/1']));
    assert.throws(() => sourceFilter(['10.0.0.0/x']));
  });
});
