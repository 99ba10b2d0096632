import { hasErrors } from '../engine/desired.js';
import { problemJson } from '../engine/index.js';
import { violationJson } from '../policy/format.js';
import { loadAdmitted, type PolicyCommandOptions } from '../policy/command-load.js';
import { printProblems, type Io } from './io.js';

export interface ValidateOptions extends PolicyCommandOptions {
  rev?: string;
  format?: 'text' | 'json';
}

/** load, check, admit and render every manifest; 0 when clean, 1 when anything is wrong. */
export async function validate(options: ValidateOptions, io: Io): Promise<number> {
  const { desired, sources } = await loadAdmitted(options, options.rev, 'validate');
  const failed = hasErrors(desired.problems);
  if (options.format === 'json') {
    io.out(`${JSON.stringify({ valid: !failed, clusters: desired.clusters.length, problems: desired.problems.map(problemJson), violations: (desired.violations ?? []).map(violationJson) }, null, 2)}\n`);
    return failed ? 1 : 0;
  }
  printProblems(io, desired.problems, sources);
  if (!failed) {
    const specs = desired.clusters.reduce((n, c) => n + c.ports.length, 0);
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    io.out(`ok: ${plural(desired.clusters.length, 'cluster')}, ${plural(specs, 'port spec')}, ${plural(desired.resources.length, 'resource')}\n`);
  }
  return failed ? 1 : 0;
}
