// A real EC2 emulator for tests: moto's server, started with the machine's python3 on a port the OS
// chooses. Missing python3 or moto fails the test with a message saying what to install; nothing is skipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Forgets every VPC, instance and group: each test starts from an empty account. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const STARTUP_MS = 30_000;

/** Fails with a clear message when python3 or its moto package is missing. */
function checkMotoInstalled(): void {
  const probe = spawnSync('python3', ['-c', 'import moto.server, moto; print(moto.__version__)'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`python3 is needed to run the EC2 emulator (moto) but cannot be run: ${probe.error.message}`);
  if (probe.status !== 0) {
    throw new Error(`moto is not installed for python3 (the AWS provider tests need its EC2 server): ${probe.stderr.trim().split('\n').at(-1) ?? ''}; install it with: python3 -m pip install 'moto[server]==5.2.1'`);
  }
}

export async function startMoto(): Promise<MotoServer> {
  checkMotoInstalled();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await announcedUrl(child);
  const server: MotoServer = {
    url,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
    },
    stop() {
      if (child.exitCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
  return server;
}

/** Werkzeug prints `Running on http://127.0.0.1:PORT` once it listens: the port is read from there. */
function announcedUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const settle = (error: Error | undefined, url?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.removeListener('data', read);
      child.stderr?.removeListener('data', read);
      // Keep draining the pipes so the server never blocks on a full one.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) {
        child.kill('SIGKILL');
        reject(error);
      } else resolve(url!);
    };
    const timer = setTimeout(() => settle(new Error(`moto did not start within ${STARTUP_MS / 1000} s; it said: ${output.slice(-500)}`)), STARTUP_MS);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) settle(undefined, match[1]!);
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('error', (error) => settle(new Error(`cannot start moto: ${error.message}`)));
    child.once('exit', (code) => settle(new Error(`moto exited (code ${code}) before it listened: ${output.slice(-500)}`)));
  });
}
