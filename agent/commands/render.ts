import { stringify } from 'yaml';
import { desiredState, hasErrors } from '../engine/desired.js';
import { createRenderer } from '../render/index.js';
import { openSnapshot } from '../source/index.js';
import { printProblems, readAdminSettings, UsageError, type Io, type RepoOptions } from './io.js';

export interface RenderOptions extends RepoOptions {
  rev?: string;
  cluster?: string;
  format?: 'yaml' | 'json';
}

/** The desired resources each provider would hold; no provider I/O. */
export async function render(options: RenderOptions, io: Io): Promise<number> {
  const snapshot = await openSnapshot(options.repo, options.rev);
  const adminSettings = await readAdminSettings(options.config);
  const desired = desiredState(snapshot, createRenderer({ templatesDir: options.templates }), { adminSettings });
  let resources = desired.resources;
  let problems = desired.problems;
  if (options.cluster !== undefined) {
    const known = desired.clusters.some((c) => c.name === options.cluster) || desired.brokenClusters.includes(options.cluster);
    if (!known) throw new UsageError(`no cluster named '${options.cluster}' in ${options.repo}`);
    resources = resources.filter((r) => r.cluster === options.cluster);
    problems = problems.filter((p) => p.cluster === undefined || p.cluster === options.cluster);
  }
  if (options.format === 'json') {
    io.out(`${JSON.stringify(resources, null, 2)}\n`);
  } else {
    io.out(resources.map((r) => `# ${r.id}\n${stringify(r.body, { lineWidth: 0 })}`).join('---\n'));
  }
  const sources = new Map(snapshot.files);
  if (adminSettings) sources.set(adminSettings.file, adminSettings.text);
  printProblems(io, problems, sources);
  return hasErrors(problems) ? 1 : 0;
}
