import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Snapshot } from '../model.js';
import { locateGit, readRevision, SourceError, type GitLocation } from './git-revision.js';
import { readDirectory } from './snapshot.js';

/** Where a pass gets the config repo. `snapshot()` fetches when it must and never yields a half-fetched tree. */
export interface RepoSource {
  /** What to watch on disk for changes, when the repo is local. */
  readonly watchPaths: string[];
  snapshot(): Promise<Snapshot>;
  describe(): string;
}

export interface RepoSourceOptions {
  /** A directory, or a URL git can clone (https://, ssh://, git@host:path, file://). */
  repo: string;
  /** For a URL: the branch to follow (default main). For a directory: read this branch's tip instead of the files on disk. */
  branch?: string;
  /** Where clones of remote repos are kept. */
  cacheDir: string;
  /** For a URL: the config repo's directory inside the git repo (a monorepo). */
  path?: string;
  /** Told about every fetch (and first clone) of a remote repo: metrics hang here. */
  onFetch?: (result: 'ok' | 'error', seconds: number) => void;
}

export function isRemote(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s]+@[^/\s]+:/.test(repo);
}

export async function openRepoSource(options: RepoSourceOptions): Promise<RepoSource> {
  if (isRemote(options.repo)) return new RemoteSource(options.repo, options.branch ?? 'main', options.cacheDir, options.path ?? '', options.onFetch);
  if (!existsSync(options.repo)) throw new SourceError(`${options.repo}: no such directory (give a directory or a URL git can clone)`);
  const loc = await locateGit(options.repo);
  if (options.branch !== undefined) {
    if (!loc) throw new SourceError(`${options.repo} is not a git repository, so --branch cannot be followed: drop --branch to use the files on disk`);
    return new LocalBranchSource(loc, options.branch);
  }
  return new DirectorySource(options.repo, loc);
}

/** The files on disk, as they are saved: a save or a commit is a change. */
class DirectorySource implements RepoSource {
  readonly watchPaths: string[];

  constructor(
    private readonly dir: string,
    private readonly loc: GitLocation | undefined,
  ) {
    this.watchPaths = [join(dir, 'config.yaml'), join(dir, 'clusters')];
  }

  async snapshot(): Promise<Snapshot> {
    const snapshot = await readDirectory(this.dir);
    if (this.loc) {
      // Label the pass with the commit it is based on, marked when the files differ from it.
      const head = await this.loc.git.revparse(['--verify', '--quiet', 'HEAD']).catch(() => '');
      if (head) {
        const dirty = (await this.loc.git.raw(['status', '--porcelain', '--', '.'])).trim() !== '';
        snapshot.revision = dirty ? `${head.trim()}-dirty` : head.trim();
      }
    }
    return snapshot;
  }

  describe(): string {
    return `${this.dir} (files on disk)`;
  }
}

/** A branch of a local git repository, read from git's objects (the working tree is ignored). */
class LocalBranchSource implements RepoSource {
  readonly watchPaths: string[];

  constructor(
    private readonly loc: GitLocation,
    private readonly branch: string,
  ) {
    this.watchPaths = [join(loc.toplevel, '.git', 'refs', 'heads'), join(loc.toplevel, '.git', 'packed-refs'), join(loc.toplevel, '.git', 'HEAD')];
  }

  snapshot(): Promise<Snapshot> {
    return readRevision(this.loc, this.branch);
  }

  describe(): string {
    return `${this.loc.toplevel} branch ${this.branch}`;
  }
}

/** A remote repository, cloned once into the cache and fetched before every pass. */
class RemoteSource implements RepoSource {
  readonly watchPaths: string[] = [];
  private readonly dir: string;
  private loc: GitLocation | undefined;

  constructor(
    private readonly url: string,
    private readonly branch: string,
    cacheDir: string,
    private readonly path: string,
    private readonly onFetch: RepoSourceOptions['onFetch'] = undefined,
  ) {
    this.dir = join(cacheDir, createHash('sha256').update(url).digest('hex').slice(0, 16));
  }

  async snapshot(): Promise<Snapshot> {
    try {
      return await this.fetchAndRead();
    } catch (err) {
      // A cache git can no longer read (lost objects, a garbled ref or config, a clone cut short) would
      // stall the agent for good; when the remote answers, the cache is at fault: start it afresh.
      if (!(await this.remoteHasBranch())) throw err;
      this.loc = undefined;
      await rm(this.dir, { recursive: true, force: true });
      return this.fetchAndRead();
    }
  }

  private async fetchAndRead(): Promise<Snapshot> {
    const loc = await this.fetch();
    // The remote-tracking ref moves only once a fetch has every object: a pass never sees half of one.
    return readRevision(loc, `refs/remotes/origin/${this.branch}`);
  }

  private async remoteHasBranch(): Promise<boolean> {
    if (!existsSync(this.dir)) return false;
    try {
      return (await simpleGit().listRemote(['--heads', this.url, this.branch])).trim() !== '';
    } catch {
      return false;
    }
  }

  private async fetch(): Promise<GitLocation> {
    const started = performance.now();
    try {
      const loc = await this.cloneOrFetch();
      this.onFetch?.('ok', (performance.now() - started) / 1000);
      return loc;
    } catch (err) {
      this.onFetch?.('error', (performance.now() - started) / 1000);
      throw err;
    }
  }

  private async cloneOrFetch(): Promise<GitLocation> {
    if (!this.loc) {
      if (!existsSync(join(this.dir, '.git'))) {
        await rm(this.dir, { recursive: true, force: true });
        await mkdir(this.dir, { recursive: true });
        await simpleGit().clone(this.url, this.dir, ['--no-checkout', '--single-branch', '--branch', this.branch]).catch((err: Error) => {
          throw new SourceError(`cannot clone ${redactUrl(this.url)} (branch ${this.branch}): ${redactUrl(err.message.trim())}`);
        });
      }
      const loc = await locateGit(this.dir);
      if (!loc) throw new SourceError(`cache ${this.dir} is not a git repository`);
      this.loc = { ...loc, prefix: this.path === '' ? '' : `${this.path.replace(/\/+$/, '')}/` };
    }
    try {
      await this.loc.git.fetch(['--prune', '--no-tags', 'origin', `+refs/heads/${this.branch}:refs/remotes/origin/${this.branch}`]);
    } catch (err) {
      throw new SourceError(`cannot fetch ${redactUrl(this.url)}: ${redactUrl((err as Error).message.trim())}; keeping the last fetched revision's state`);
    }
    return this.loc;
  }

  describe(): string {
    return `${redactUrl(this.url)} branch ${this.branch}`;
  }
}

/** Credentials in a URL (`https://user:token@host/…`) never reach logs, status or metrics. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}
