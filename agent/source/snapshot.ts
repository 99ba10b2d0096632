import type { Dirent } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Problem, Snapshot } from '../model.js';

/** A manifest larger than this is refused: no honest cluster manifest is a megabyte. */
export const MAX_FILE_BYTES = 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const READ_CONCURRENCY = 32;

export function fileProblem(file: string, code: 'FILE_UNREADABLE' | 'FILE_TOO_LARGE', message: string): Problem {
  return { code, severity: 'error', message, at: { file, line: 1, col: 1 } };
}

export function tooLarge(file: string, bytes: number): Problem {
  return fileProblem(file, 'FILE_TOO_LARGE', `file is ${bytes} bytes, more than the ${MAX_FILE_BYTES} a manifest may have: split it into several files`);
}

export function decode(file: string, bytes: Uint8Array): string | Problem {
  try {
    return utf8.decode(bytes);
  } catch {
    return fileProblem(file, 'FILE_UNREADABLE', 'file is not UTF-8 text: save it as UTF-8');
  }
}

/** The config repo's files as they are on disk (the working tree), without following links out of it. */
export async function readDirectory(dir: string): Promise<Snapshot> {
  const root = await realpath(dir);
  const files = new Map<string, string>();
  const problems: Problem[] = [];

  // Each file's outcome, in walk order: reads run concurrently, results keep a stable order.
  type Outcome = { rel: string; text: string } | Problem | undefined;
  const readOne = async (abs: string, rel: string, known?: Dirent): Promise<Outcome> => {
    const info = known ?? (await lstat(abs));
    let target = abs;
    let regular = info.isFile();
    if (info.isSymbolicLink()) {
      const real = await realpath(abs).catch(() => undefined);
      if (real === undefined || (real !== root && !real.startsWith(root + sep))) {
        return fileProblem(rel, 'FILE_UNREADABLE', 'symbolic link points outside the config repo (or nowhere): it is not followed; commit the file itself');
      }
      target = real;
      regular = (await stat(target)).isFile();
    }
    // A FIFO would block even the open forever, a device could be endless, a directory cannot be read: only files are.
    if (!regular) return fileProblem(rel, 'FILE_UNREADABLE', 'not a regular file (a directory, FIFO, socket or device): only files are read; replace it with the file itself');
    const handle = await open(target, 'r');
    try {
      const size = (await handle.stat()).size;
      if (size > MAX_FILE_BYTES) return tooLarge(rel, size);
      const text = decode(rel, await handle.readFile());
      return typeof text === 'string' ? { rel, text } : text;
    } finally {
      await handle.close();
    }
  };
  const pending: (() => Promise<Outcome>)[] = [];

  const walk = async (absDir: string): Promise<void> => {
    const entries = await readdir(absDir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const abs = join(absDir, entry.name);
      const rel = relative(root, abs).split(sep).join('/');
      // Symlinked directories are not followed: they are how a repo reaches outside itself, and how loops start.
      if (entry.isDirectory()) await walk(abs);
      else if (/\.ya?ml$/.test(entry.name)) pending.push(() => readOne(abs, rel, entry));
      else if (entry.isSymbolicLink() && (await stat(abs).then((s) => s.isDirectory(), () => false))) {
        pending.push(async () => fileProblem(rel, 'FILE_UNREADABLE', 'symbolic link to a directory: it is not followed, so its manifests are not read; move them into the config repo'));
      }
    }
  };

  if (await exists(join(root, 'config.yaml'))) pending.push(() => readOne(join(root, 'config.yaml'), 'config.yaml'));
  if (await exists(join(root, 'clusters'))) {
    const info = await lstat(join(root, 'clusters'));
    if (info.isDirectory()) await walk(join(root, 'clusters'));
    else problems.push(fileProblem('clusters', 'FILE_UNREADABLE', 'clusters must be a directory inside the config repo'));
  }
  // One file at a time leaves the process idle between reads (a third of a 10,000-cluster load): read 32 at once.
  const outcomes: Outcome[] = [];
  for (let i = 0; i < pending.length; i += READ_CONCURRENCY) outcomes.push(...(await Promise.all(pending.slice(i, i + READ_CONCURRENCY).map((read) => read()))));
  for (const outcome of outcomes) {
    if (outcome === undefined) continue;
    if ('rel' in outcome) files.set(outcome.rel, outcome.text);
    else problems.push(outcome);
  }
  return { revision: 'working-tree', files, problems };
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
