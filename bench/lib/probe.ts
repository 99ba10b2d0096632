// A prober in a client namespace, started ahead of time so its start-up (ip netns exec + node, ~0.2 s on a
// busy machine) is not part of a latency: once told a port on stdin, it tries to connect every 5 ms and
// prints the wall-clock time of the first answer.
import { spawn } from 'node:child_process';
import type { Namespace } from '../../test/helpers/netns.js';

const PROBER = `
const host = process.argv[1];
const net = require('node:net');
process.stdout.write('ready\\n');
process.stdin.once('data', (line) => {
  const port = Number(String(line).trim());
  const attempt = () => net.connect({ host, port })
    .on('data', () => { process.stdout.write(String(Date.now()) + '\\n'); process.exit(0); })
    .on('error', () => setTimeout(attempt, 5));
  attempt();
  setTimeout(() => process.exit(1), 30000);
});`;

export interface Prober {
  /** Resolves with Date.now() of the first answered connection to `port`. */
  open(port: number): Promise<number>;
}

/** A prober for `host` from inside `ns`, resolved once it is running and waiting for its port. */
export function startProber(ns: Namespace, host: string): Promise<Prober> {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', PROBER, host], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      if (!out.startsWith('ready\n')) return;
      child.stdout.off('data', onData);
      resolve({
        async open(port) {
          let answer = '';
          child.stdout.on('data', (chunk: Buffer) => (answer += chunk.toString()));
          child.stdin.end(`${port}\n`);
          const code = await exited;
          if (code !== 0) throw new Error(`${host}:${port} never answered from ${ns.name} within 30 s`);
          return Number(answer.trim());
        },
      });
    };
    child.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`the prober in ${ns.name} exited (${code}) before it was ready`)));
  });
}
