import { problemLine } from '../manifest/format-problem.js';
import type { Plan } from '../model.js';
import { formatChange } from './change-line.js';

/**
 * The plan as people read it, Terraform-style and without colour codes: a heading per cluster, one line
 * per change (see formatChange), problems in `FILE:LINE:COL: message` form, and always, last, the line
 * `Plan: N to open, N to close, N to change.` that scripts look for.
 */
export function planText(plan: Plan): string {
  const lines = [`portcullis plan: ${shortRevision(plan.base)} → ${shortRevision(plan.head)}`, ''];
  if (plan.changes.length === 0) lines.push('No changes: the ports match.', '');
  let heading = '';
  for (const change of plan.changes) {
    // A cluster that moves to another cloud gets a heading per cloud: its closes, then its opens.
    const next = `# ${change.cluster} (${change.cloud})`;
    if (next !== heading) {
      if (heading !== '') lines.push('');
      lines.push(`  ${next}`);
      heading = next;
    }
    lines.push(`  ${formatChange(change)}`);
  }
  if (plan.changes.length > 0) lines.push('');
  if (plan.problems.length > 0) lines.push('Problems:', ...plan.problems.map((p) => `  ${problemLine(p)}`), '');
  const { open, close, change } = plan.summary;
  lines.push(`Plan: ${open} to open, ${close} to close, ${change} to change.`);
  return `${lines.join('\n')}\n`;
}

/** Git ids shortened as git itself shows them; names such as `working-tree` or a branch stay whole. */
export function shortRevision(revision: string): string {
  return /^[0-9a-f]{8,64}$/.test(revision) ? revision.slice(0, 7) : revision;
}
