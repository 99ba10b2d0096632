import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { simpleGit } from 'simple-git';
import type { Problem } from '../model.js';
import { BUILTIN_POLICIES } from '../../policies/index.js';
import type { PolicyEntry } from './entries.js';
import { modulePolicy } from './module.js';
import { DEFAULT_REST_TIMEOUT_MS, restPolicy } from './rest.js';
import type { Policy } from './types.js';

export interface LoaderOptions {
  /** The config repo on this machine. A module inside it is a repo file: refused unless allowRepoPolicies. */
  repoDir?: string;
  /** `--allow-repo-policies`: run policy modules committed to the config repo, read from the revision evaluated. */
  allowRepoPolicies?: boolean;
}

export interface Chain {
  chain: Policy[];
  problems: Problem[];
}

/** Built-ins only, synchronously: what the pure core can run. Any other entry is a problem saying so. */
export function resolveBuiltins(entries: readonly PolicyEntry[]): Chain {
  const chain: Policy[] = [];
  const problems: Problem[] = [];
  for (const entry of entries) {
    const builtin = entry.kind === 'builtin' ? builtinPolicy(entry) : undefined;
    if (builtin) chain.push(builtin);
    else problems.push(configProblem(entry, 'is not a built-in policy, and this command runs built-in policies only'));
  }
  return { chain, problems };
}

/**
 * Every entry resolved to a policy: built-ins, modules (imported once per file content) and REST policies.
 * `revision` is the snapshot being evaluated: a repo policy file is read at that revision, never from
 * some other checkout. An entry that cannot be loaded is a problem, and the caller fails closed.
 */
export async function resolvePolicies(entries: readonly PolicyEntry[], revision: string, options: LoaderOptions = {}): Promise<Chain> {
  const chain: Policy[] = [];
  const problems: Problem[] = [];
  for (const entry of entries) {
    const loaded = await load(entry, revision, options).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
    if ('error' in loaded) problems.push(configProblem(entry, loaded.error));
    else chain.push(loaded);
  }
  return { chain, problems };
}

async function load(entry: PolicyEntry, revision: string, options: LoaderOptions): Promise<Policy | { error: string }> {
  switch (entry.kind) {
    case 'builtin':
      return builtinPolicy(entry)!;
    case 'url': {
      const seconds = entry.settings.timeout;
      return restPolicy(entry.ref, entry.name, entry.mode, typeof seconds === 'number' ? seconds * 1000 : DEFAULT_REST_TIMEOUT_MS);
    }
    case 'module': {
      const exports = await importModule(entry.ref, revision, options, entry.origin === 'admin');
      if ('error' in exports) return exports;
      return modulePolicy(exports.module, entry.name, entry.mode, entry.settings);
    }
  }
}

function builtinPolicy(entry: PolicyEntry): Policy | undefined {
  const builtin = BUILTIN_POLICIES.get(entry.ref);
  if (!builtin) return undefined;
  const run = builtin.create(entry.settings);
  return { name: entry.name, mode: entry.mode, validateAndMutate: run };
}

/**
 * The trusted-path rule: a module the agent runs must come from the agent's machine, where the admin put
 * it. One inside the watched config repo could be written by anyone who can open a pull request, so it is
 * refused unless the agent was started with --allow-repo-policies; then it is read from the revision
 * being evaluated (git), or from disk when the files on disk are evaluated.
 */
async function importModule(ref: string, revision: string, options: LoaderOptions, fromAdmin: boolean): Promise<{ module: unknown } | { error: string }> {
  const repoDir = options.repoDir ? await realpath(options.repoDir).catch(() => resolve(options.repoDir!)) : undefined;
  const relativeRef = ref.startsWith('./') || ref.startsWith('../');
  // The repo's config.yaml is written by whoever can commit: what it names must not reach code elsewhere
  // on the agent's machine (an absolute path, a package, or a ../ out of the repo).
  if (!fromAdmin && !relativeRef) {
    return { error: `only the admin's --config file may name a module on the agent's machine (${ref}); the config repo may name built-in policies, REST policies, or a ./module of its own with --allow-repo-policies` };
  }
  let path: string | undefined;
  if (relativeRef) {
    if (!repoDir) return { error: `a relative module path names a file in the config repo, and there is none here: give an absolute path` };
    path = resolve(repoDir, ref);
    if (!fromAdmin && !inside(await realpath(path).catch(() => path!), repoDir)) return { error: `module ${ref} leaves the config repo: a repo may only name policy modules inside itself` };
  } else if (isAbsolute(ref)) {
    path = await realpath(ref).catch(() => ref);
  } else {
    // A package: resolved as portcullis resolves its own dependencies.
    let url: string;
    try {
      url = import.meta.resolve(ref);
    } catch {
      return { error: `package '${ref}' is not installed where portcullis can import it (npm install it next to portcullis)` };
    }
    path = url.startsWith('file:') ? fileURLToPath(url) : undefined;
    if (!path || !repoDir || !inside(path, repoDir)) return { module: await import(url) };
  }
  if (repoDir && inside(path, repoDir)) {
    const rel = relative(repoDir, path).split(sep).join('/');
    if (!options.allowRepoPolicies) {
      return { error: `module ${rel} is inside the config repo, and policies there are refused: anyone who can commit could change them. Install it on the agent's machine and give its absolute path, or start portcullis with --allow-repo-policies` };
    }
    return { module: await importText(await readRepoFile(repoDir, rel, revision), rel) };
  }
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return { error: `module ${path} cannot be read: no such file, or not readable by the agent` };
  return { module: await import(pathToFileURL(path).href) };
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

/** A file of the config repo at the evaluated revision: git's object store for a commit, the disk for the working tree. */
async function readRepoFile(repoDir: string, rel: string, revision: string): Promise<string> {
  if (/^[0-9a-f]{40,64}$/.test(revision)) {
    const git = simpleGit({ baseDir: repoDir });
    const prefix = await git.revparse(['--show-prefix']).then((p) => p.trim());
    return git.show([`${revision}:${prefix}${rel}`]).catch(() => {
      throw new Error(`module ${rel} does not exist at revision ${revision.slice(0, 7)}`);
    });
  }
  return readFile(join(repoDir, rel), 'utf8').catch(() => {
    throw new Error(`module ${rel} does not exist in the config repo`);
  });
}

/** Imports module text by content: a changed file is a new module, an unchanged one is imported once. */
async function importText(text: string, rel: string): Promise<unknown> {
  const dir = join(tmpdir(), 'portcullis-repo-policies');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 32);
  const ext = rel.endsWith('.cjs') ? '.cjs' : '.mjs';
  const file = join(dir, `${hash}${ext}`);
  await writeFile(file, text, { mode: 0o600 });
  return import(pathToFileURL(file).href);
}

function configProblem(entry: PolicyEntry, why: string): Problem {
  return { code: 'POLICY_CONFIG', severity: 'error', message: `admin policy ${entry.ref}: ${why}`, at: entry.at };
}
