import { stringify } from 'yaml';
import { hasErrors } from '../engine/desired.js';
import { loadAdmitted, type PolicyCommandOptions } from '../policy/command-load.js';
import { printProblems, UsageError, type Io } from './io.js';

export interface RenderOptions extends PolicyCommandOptions {
  rev?: string;
  cluster?: string;
  format?: 'yaml' | 'json';
}

/** The desired resources each provider would hold; no provider I/O. */
export async function render(options: RenderOptions, io: Io): Promise<number> {
  const { desired, sources } = await loadAdmitted(options, options.rev, 'plan');
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
  printProblems(io, problems, sources);
  return hasErrors(problems) ? 1 : 0;
}
