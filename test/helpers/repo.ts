import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Snapshot } from '../../agent/model.js';

/** An in-memory config repo revision, for the pure phases. */
export function snapshotOf(files: Record<string, string>, revision = 'test'): Snapshot {
  return { revision, files: new Map(Object.entries(files)), problems: [] };
}

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'portcullis test',
  GIT_AUTHOR_EMAIL: 'test@portcullis.invalid',
  GIT_COMMITTER_NAME: 'portcullis test',
  GIT_COMMITTER_EMAIL: 'test@portcullis.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** A real git repository in a temporary directory, driven by the real git binary. */
export class TempGitRepo {
  readonly dir = mkdtempSync(join(tmpdir(), 'portcullis-test-'));

  constructor() {
    this.git('init', '-q', '-b', 'main');
  }

  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, env: gitEnv, encoding: 'utf8' }).trim();
  }

  write(files: Record<string, string | null>): this {
    for (const [path, text] of Object.entries(files)) {
      const abs = join(this.dir, path);
      if (text === null) rmSync(abs, { force: true });
      else {
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(abs, text);
      }
    }
    return this;
  }

  /** Writes the files, commits everything, returns the commit id. */
  commit(message: string, files: Record<string, string | null> = {}): string {
    this.write(files);
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
