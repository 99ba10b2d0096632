// A three-host network built from Linux network namespaces, for tests that need real packets:
//
//   client 10.213.1.2 ── 10.213.1.1 node 10.213.2.1 ── 10.213.2.2 instance
//          fd00:213:1::2 ── fd00:213:1::1   fd00:213:2::1 ── fd00:213:2::2
//
// The client reaches the instance's subnet only through the node; the instance has no route back to
// the client's subnet, so replies pass only when the node masquerades them. Everything lives inside
// namespaces the helper creates (named `pc-<pid>-<n>-*`), never on the host's own network.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const ADDRESSES = {
  client: '10.213.1.2',
  /** The node's address on the client side: where clients connect to node ports. */
  node: '10.213.1.1',
  /** The node's address on the instance side: the source the instance sees after masquerade. */
  nodeInner: '10.213.2.1',
  instance: '10.213.2.2',
  client6: 'fd00:213:1::2',
  node6: 'fd00:213:1::1',
  nodeInner6: 'fd00:213:2::1',
  instance6: 'fd00:213:2::2',
} as const;

export interface Namespace {
  readonly name: string;
  /** Runs a program inside the namespace; resolves with its stdout, rejects with its stderr. */
  exec(file: string, args: string[]): Promise<string>;
  nft(args: string[]): Promise<string>;
  /** Sets (with a value) or reads a sysctl, e.g. `net.ipv4.ip_forward`. */
  sysctl(key: string, value?: string): Promise<string>;
}

export interface Topology {
  readonly client: Namespace;
  readonly node: Namespace;
  readonly instance: Namespace;
  /** Deletes the namespaces (and with them their links and rules) and stops servers started in them. */
  destroy(): Promise<void>;
}

export interface Server {
  close(): Promise<void>;
}

export type Reply = { ok: true; reply: string } | { ok: false; error: string };

let topologies = 0;
const servers = new Set<ChildProcess>();
const live = new Set<string>();
// Last resort when a test process dies before its after() hooks: leave no namespace behind.
process.once('exit', () => {
  for (const child of servers) child.kill('SIGKILL');
  for (const name of live) spawnSync('ip', ['netns', 'del', name]);
});

/** Fails with a message saying what is missing, when this machine cannot run namespace tests. */
export function assertNetnsReady(): void {
  if (process.getuid?.() !== 0) throw new Error('network namespace tests need root (ip netns, nft): run them as root, e.g. in the CI container');
  for (const [tool, args] of [['ip', ['-V']], ['nft', ['--version']], ['sysctl', ['--version']]] as const) {
    const result = spawnSync(tool, [...args], { encoding: 'utf8' });
    if (result.error || result.status !== 0) throw new Error(`network namespace tests need '${tool}' (${result.error?.message ?? result.stderr.trim()}): install iproute2, nftables and procps`);
  }
}

export async function createTopology(): Promise<Topology> {
  assertNetnsReady();
  const prefix = `pc-${process.pid}-${++topologies}`;
  const [client, node, instance] = (['c', 'n', 'i'] as const).map((suffix) => namespace(`${prefix}-${suffix}`)) as [Namespace, Namespace, Namespace];
  const destroy = async () => {
    for (const ns of [client, node, instance]) {
      await ip(['netns', 'del', ns.name]).catch(() => undefined);
      live.delete(ns.name);
    }
  };
  try {
    for (const ns of [client, node, instance]) {
      // A namespace left by an earlier process with the same pid is stale: ours to replace.
      await ip(['netns', 'del', ns.name]).catch(() => undefined);
      await ip(['netns', 'add', ns.name]);
      live.add(ns.name);
      await ip(['-n', ns.name, 'link', 'set', 'lo', 'up']);
    }
    // Links are created inside the namespaces, so their names never meet the host's.
    await link(node, 'to-client', client, 'to-node', [ADDRESSES.node, ADDRESSES.node6], [ADDRESSES.client, ADDRESSES.client6]);
    await link(node, 'to-instance', instance, 'to-node', [ADDRESSES.nodeInner, ADDRESSES.nodeInner6], [ADDRESSES.instance, ADDRESSES.instance6]);
    await ip(['-n', client.name, 'route', 'add', '10.213.2.0/24', 'via', ADDRESSES.node]);
    await ip(['-n', client.name, '-6', 'route', 'add', 'fd00:213:2::/64', 'via', ADDRESSES.node6]);
    await node.sysctl('net.ipv4.ip_forward', '1');
    await node.sysctl('net.ipv6.conf.all.forwarding', '1');
  } catch (error) {
    await destroy();
    throw error;
  }
  return { client, node, instance, destroy };
}

async function link(a: Namespace, aName: string, b: Namespace, bName: string, aAddresses: string[], bAddresses: string[]): Promise<void> {
  await ip(['-n', a.name, 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b.name]);
  for (const [ns, dev, addresses] of [[a, aName, aAddresses], [b, bName, bAddresses]] as const) {
    for (const address of addresses) {
      const length = address.includes(':') ? 64 : 24;
      // nodad: IPv6 addresses are usable at once instead of after duplicate address detection.
      await ip(['-n', ns.name, 'addr', 'add', `${address}/${length}`, 'dev', dev, ...(address.includes(':') ? ['nodad'] : [])]);
    }
    await ip(['-n', ns.name, 'link', 'set', dev, 'up']);
  }
}

function namespace(name: string): Namespace {
  const exec = (file: string, args: string[]) => command('ip', ['netns', 'exec', name, file, ...args]);
  return {
    name,
    exec,
    nft: (args) => exec('nft', args),
    sysctl: (key, value) => exec('sysctl', value === undefined ? ['-n', key] : ['-q', '-w', `${key}=${value}`]).then((out) => out.trim()),
  };
}

const ip = (args: string[]) => command('ip', args);

function command(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

// Each reply names the port and who connected: `hello <port> <remote address>`.
const SERVER = `
const [protocol, ...ports] = process.argv.slice(1);
let pending = ports.length;
const ready = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
for (const port of ports.map(Number)) {
  if (protocol === 'tcp') {
    require('node:net').createServer((socket) => {
      socket.on('error', () => {});
      socket.end('hello ' + port + ' ' + socket.remoteAddress.replace(/^::ffff:/, ''));
    }).listen(port, '::', ready);
  } else {
    const socket = require('node:dgram').createSocket('udp6');
    socket.on('message', (message, from) => socket.send('hello ' + port + ' ' + from.address.replace(/^::ffff:/, '') + ' ' + message, from.port, from.address));
    socket.bind(port, '::', ready);
  }
}`;

/** Starts a server on `ports` (IPv4 and IPv6) in `ns` that answers each connection or datagram with a greeting. */
export function serve(ns: Namespace, protocol: 'tcp' | 'udp', ports: number[]): Promise<Server> {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, protocol, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.add(child);
  const close = async () => {
    servers.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  };
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve({ close });
    });
    child.once('exit', (code) => reject(new Error(`server in ${ns.name} exited (${code}): ${stderr.trim()}`)));
  });
}

const CLIENT = `
const [protocol, host, port, timeout] = process.argv.slice(1);
const done = (result) => { process.stdout.write(JSON.stringify(result)); process.exit(0); };
setTimeout(() => done({ ok: false, error: 'timeout' }), Number(timeout));
if (protocol === 'tcp') {
  let reply = '';
  require('node:net').connect({ host, port: Number(port) })
    .on('data', (chunk) => (reply += chunk))
    .on('end', () => done({ ok: true, reply }))
    .on('error', (error) => done({ ok: false, error: error.code || error.message }));
} else {
  const socket = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (message) => done({ ok: true, reply: String(message) }));
  socket.on('error', (error) => done({ ok: false, error: error.code || error.message }));
  socket.connect(Number(port), host, () => socket.send('ping'));
}`;

/**
 * Connects from `ns` to host:port and returns the greeting, or why there was none: `ECONNREFUSED`,
 * `timeout` (after `timeoutMs`), or another error code. UDP sends `ping` and waits for one datagram.
 */
export async function connect(ns: Namespace, protocol: 'tcp' | 'udp', host: string, port: number, timeoutMs = 1500): Promise<Reply> {
  const out = await ns.exec(process.execPath, ['-e', CLIENT, protocol, host, String(port), String(timeoutMs)]);
  return JSON.parse(out) as Reply;
}
