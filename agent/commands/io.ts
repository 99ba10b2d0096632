import { readFile } from 'node:fs/promises';
import { desiredState } from '../engine/desired.js';
import type { DesiredState, Snapshot } from '../model.js';
import { createRenderer } from '../render/index.js';
import { openSnapshot } from '../source/index.js';
import { problemLine, problemWithSource } from '../manifest/format-problem.js';
import type { SettingsSource } from '../manifest/settings.js';
import type { Problem } from '../model.js';

/** Where a command writes: injected so tests can read it, process streams otherwise. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Options every command that reads a config repo takes. */
export interface RepoOptions {
  repo: string;
  config?: string;
  templates?: string;
}

export async function readAdminSettings(path: string | undefined): Promise<SettingsSource | undefined> {
  if (path === undefined) return undefined;
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--config ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  return { file: path, text };
}

export interface Loaded {
  snapshot: Snapshot;
  desired: DesiredState;
  /** Every file a problem may point into (the repo's and the admin's), for the caret display. */
  sources: Map<string, string>;
}

/** The desired state of the repo at `rev` (or on disk), as `validate` and `render` show it. */
export async function loadDesired(options: RepoOptions, rev?: string): Promise<Loaded> {
  const snapshot = await openSnapshot(options.repo, rev);
  const adminSettings = await readAdminSettings(options.config);
  const desired = desiredState(snapshot, createRenderer({ templatesDir: options.templates }), adminSettings ? { adminSettings } : {});
  const sources = new Map(snapshot.files);
  if (adminSettings) sources.set(adminSettings.file, adminSettings.text);
  return { snapshot, desired, sources };
}

/** Problems with the source line and a caret, for people; one per paragraph. */
export function printProblems(io: Io, problems: readonly Problem[], sources: ReadonlyMap<string, string>): void {
  for (const problem of problems) io.err(`${problemWithSource(problem, sources)}\n\n`);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const files = new Set(problems.map((p) => p.at.file)).size;
  if (problems.length > 0) io.err(`${errors} error${errors === 1 ? '' : 's'}, ${problems.length - errors} warning${problems.length - errors === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}\n`);
}

export { problemLine };

/** A mistake in how the command was called: printed without a stack trace, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
