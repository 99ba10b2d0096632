// One writer per host: two agents forwarding through the same nftables table would undo each other's
// passes (each closes what the other's Git asks for). The second one refuses to start instead. The lock
// is a file holding the owner's pid, so a lock left by a killed agent is taken over, not obeyed.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class HostLockError extends Error {}

export interface HostLock {
  readonly path: string;
  release(): void;
}

/** /run/portcullis where the agent may write there (root: cleared at boot), else the temp dir. */
export function defaultLockDir(): string {
  try {
    mkdirSync('/run/portcullis', { recursive: true });
    return '/run/portcullis';
  } catch {
    return tmpdir();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, it is only someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock named `name` for this process, or throws a HostLockError naming the agent that holds it.
 * Taking a lock this process already holds succeeds (an agent restarting its backend in-process).
 */
export function acquireHostLock(name: string, what: string, dir = defaultLockDir()): HostLock {
  const path = join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      const release = () => releaseIfOurs(path);
      process.once('exit', release);
      return { path, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(readLock(path), 10);
    if (holder === process.pid) return { path, release: () => releaseIfOurs(path) };
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new HostLockError(`another portcullis agent (pid ${holder}) already manages ${what} on this host (lock ${path}): run one agent per host, or stop that one first`);
    }
    // Left by an agent that is gone (or unreadable): take it over.
    rmSync(path, { force: true });
  }
  throw new HostLockError(`cannot take the lock ${path} for ${what}: other agents keep racing for it`);
}

function readLock(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function releaseIfOurs(path: string): void {
  if (Number.parseInt(readLock(path), 10) === process.pid) rmSync(path, { force: true });
}
