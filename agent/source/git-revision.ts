import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { Problem, Snapshot } from '../model.js';
import { decode, fileProblem, MAX_FILE_BYTES, tooLarge } from './snapshot.js';

export class SourceError extends Error {
  override name = 'SourceError';
}

/** Where the config repo sits inside its git repository: the config dir may be a sub-directory (a monorepo). */
export interface GitLocation {
  git: SimpleGit;
  toplevel: string;
  /** '' when the config repo is the git repo's root, else `path/to/dir/`. */
  prefix: string;
}

export async function locateGit(dir: string): Promise<GitLocation | undefined> {
  const abs = await realpath(dir).catch(() => undefined);
  if (abs === undefined) throw new SourceError(`${dir}: no such directory`);
  const git = simpleGit({ baseDir: abs });
  const toplevel = await git.revparse(['--show-toplevel']).catch(() => undefined);
  if (toplevel === undefined) return undefined;
  const rel = relative(await realpath(toplevel), abs).split(sep).join('/');
  return { git, toplevel, prefix: rel === '' ? '' : `${rel}/` };
}

/** Resolves a revision (branch, tag, `origin/main`, `HEAD~1`, an id) to a commit id. */
export async function resolveCommit(loc: GitLocation, rev: string): Promise<string> {
  // `--quiet` makes git print nothing for an unknown name; simple-git may then resolve with ''.
  const id = await loc.git.revparse(['--verify', '--quiet', `${rev}^{commit}`]).then(
    (out) => out.trim(),
    () => '',
  );
  if (!/^[0-9a-f]{40,64}$/.test(id)) {
    throw new SourceError(`unknown revision '${rev}': name a commit, branch or tag that exists in ${loc.toplevel} (fetch it first if it is remote)`);
  }
  return id;
}

interface TreeEntry {
  mode: string;
  oid: string;
  size: number;
  path: string;
}

/** The config repo's files at a commit, read straight from git's object store (no checkout). */
export async function readRevision(loc: GitLocation, rev: string): Promise<Snapshot> {
  const commit = await resolveCommit(loc, rev);
  const listing = await loc.git.raw(['ls-tree', '-r', '-l', '-z', '--full-tree', commit, '--', `${loc.prefix}config.yaml`, `${loc.prefix}clusters`]);
  const problems: Problem[] = [];
  const wanted: TreeEntry[] = [];
  for (const record of listing.split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, , oid, size] = record.slice(0, tab).split(/\s+/) as [string, string, string, string];
    const path = record.slice(tab + 1).slice(loc.prefix.length);
    if (path !== 'config.yaml' && !/\.ya?ml$/.test(path)) continue;
    if (mode === '120000') {
      problems.push(fileProblem(path, 'FILE_UNREADABLE', 'symbolic links are not followed in the config repo: commit the file itself'));
    } else if (mode === '160000') {
      continue; // a submodule is not a manifest
    } else if (Number(size) > MAX_FILE_BYTES) {
      problems.push(tooLarge(path, Number(size)));
    } else {
      wanted.push({ mode, oid, size: Number(size), path });
    }
  }
  const blobs = await catBlobs(loc.toplevel, wanted.map((e) => e.oid));
  const files = new Map<string, string>();
  for (const entry of wanted) {
    const text = decode(entry.path, blobs.get(entry.oid)!);
    if (typeof text === 'string') files.set(entry.path, text);
    else problems.push(text);
  }
  return { revision: commit, files, problems };
}

/** Reads many blobs through one `git cat-file --batch`: one process instead of one per file. */
function catBlobs(cwd: string, oids: readonly string[]): Promise<Map<string, Uint8Array>> {
  const unique = [...new Set(oids)];
  if (unique.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => reject(new SourceError(`cannot run git cat-file: ${err.message}`)));
    child.on('close', (code) => {
      if (code !== 0) return reject(new SourceError(`git cat-file failed (${code}): ${stderr.trim()}`));
      const out = Buffer.concat(chunks);
      const blobs = new Map<string, Uint8Array>();
      let offset = 0;
      while (offset < out.length) {
        const eol = out.indexOf(10, offset);
        const header = out.subarray(offset, eol).toString();
        const [oid, type, size] = header.split(' ') as [string, string, string];
        if (type === 'missing' || size === undefined) return reject(new SourceError(`git object ${oid} is missing: the clone may be corrupt`));
        const start = eol + 1;
        blobs.set(oid, out.subarray(start, start + Number(size)));
        offset = start + Number(size) + 1;
      }
      resolve(blobs);
    });
    child.stdin.end(unique.join('\n') + '\n');
  });
}
