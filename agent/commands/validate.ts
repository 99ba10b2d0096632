import { desiredState, hasErrors } from '../engine/desired.js';
import { createRenderer } from '../render/index.js';
import { openSnapshot } from '../source/index.js';
import { printProblems, readAdminSettings, type Io, type RepoOptions } from './io.js';

export interface ValidateOptions extends RepoOptions {
  rev?: string;
  format?: 'text' | 'json';
}

/** load, check, admit and render every manifest; 0 when clean, 1 when anything is wrong. */
export async function validate(options: ValidateOptions, io: Io): Promise<number> {
  const snapshot = await openSnapshot(options.repo, options.rev);
  const adminSettings = await readAdminSettings(options.config);
  const desired = desiredState(snapshot, createRenderer({ templatesDir: options.templates }), { adminSettings });
  const failed = hasErrors(desired.problems);
  if (options.format === 'json') {
    const problems = desired.problems.map(({ at, ...rest }) => ({ ...rest, file: at.file, line: at.line, col: at.col }));
    io.out(`${JSON.stringify({ valid: !failed, clusters: desired.clusters.length, problems }, null, 2)}\n`);
    return failed ? 1 : 0;
  }
  const sources = new Map(snapshot.files);
  if (adminSettings) sources.set(adminSettings.file, adminSettings.text);
  printProblems(io, desired.problems, sources);
  if (!failed) {
    const specs = desired.clusters.reduce((n, c) => n + c.ports.length, 0);
    io.out(`ok: ${desired.clusters.length} cluster${desired.clusters.length === 1 ? '' : 's'}, ${specs} port spec${specs === 1 ? '' : 's'}, ${desired.resources.length} resource${desired.resources.length === 1 ? '' : 's'}\n`);
  }
  return failed ? 1 : 0;
}
