import { problemLine } from '../manifest/format-problem.js';
import type { Exposure, Plan, PortAction, PortChange, Violation } from '../model.js';
import { violationCounts } from '../policy/format.js';
import { planText, shortRevision } from './plan-text.js';

/** The hidden marker the CI workflow finds its own comment by, to update it instead of adding another. */
export const PLAN_COMMENT_MARKER = '<!-- portcullis-plan -->';

const ACTION: Record<PortAction, string> = { open: '➕ open', close: '➖ close', change: '🔁 change' };
const MODE: Record<Violation['mode'], string> = { enforce: '❌ denied', warn: '⚠️ warning', audit: '📝 audit' };

/**
 * The plan as a pull-request comment, for a reviewer with ten seconds: the verdict first (denied by a
 * policy, or how many ports become public), then a table per cluster, the policy results, other problems,
 * and the text plan collapsed at the end. Public exposure is bold capitals with a globe, as in the text
 * plan's PUBLIC: it must not be missed.
 */
export function planMarkdown(plan: Plan): string {
  const violations = plan.violations ?? [];
  const counts = violationCounts(violations);
  const lines = [PLAN_COMMENT_MARKER, `### portcullis plan: \`${shortRevision(plan.base)}\` → \`${shortRevision(plan.head)}\``, ''];
  if (counts.enforce > 0) lines.push(`**❌ Denied by admin policy:** ${plural(counts.enforce, 'violation')} to fix before this can be applied.`, '');
  const { open, close, change } = plan.summary;
  const publicCount = plan.changes.filter(becomesPublic).length;
  lines.push(`**Plan: ${open} to open, ${close} to close, ${change} to change.**${publicCount > 0 ? ` 🌐 ${plural(publicCount, 'change')} opening ports to anywhere.` : ''}`, '');

  if (plan.changes.length === 0) lines.push('No port changes.', '');
  for (const [heading, changes] of byCluster(plan.changes)) {
    lines.push(`#### ${heading}`, '', '| | protocol | ports | exposure | declared at |', '|---|---|---|---|---|');
    for (const c of changes) lines.push(`| ${ACTION[c.action]} | ${c.protocol} | ${c.ports.join(', ')} | ${exposureCell(c)} | ${c.at ? `\`${c.at.file}:${c.at.line}\`` : ''} |`);
    lines.push('');
  }

  if (violations.length > 0) {
    lines.push('#### Admin policies', '', '| result | policy/rule | cluster | message | where |', '|---|---|---|---|---|');
    for (const v of violations) lines.push(`| ${MODE[v.mode]} | \`${v.policy}/${v.rule}\` | ${v.cluster} | ${cell(v.message)} | \`${v.at.file}:${v.at.line}\` |`);
    lines.push('');
    if (counts.enforce > 0) lines.push('A denied cluster keeps the ports it has now: its changes are not in the plan until the violation is fixed.', '');
  }
  const others = plan.problems.filter((p) => p.code !== 'POLICY_DENIED' && p.code !== 'POLICY_WARNING');
  if (others.length > 0) {
    lines.push('#### Problems', '', 'A cluster with a problem keeps the ports it has until its manifest is fixed.', '');
    for (const p of others) lines.push(`- ${cell(problemLine(p))}`);
    lines.push('');
  }
  lines.push('<details><summary>Full plan</summary>', '', '```text', planText(plan).trimEnd(), '```', '', '</details>');
  return `${lines.join('\n')}\n`;
}

function byCluster(changes: readonly PortChange[]): Map<string, PortChange[]> {
  const groups = new Map<string, PortChange[]>();
  for (const c of changes) {
    const key = `${c.cluster} (${c.cloud})`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return groups;
}

function becomesPublic(c: PortChange): boolean {
  return c.action !== 'close' && c.exposure === 'public' && c.cidrs.length === 0 && (c.action === 'open' || c.before?.exposure !== 'public' || (c.before?.cidrs.length ?? 0) > 0);
}

function exposureCell(c: PortChange): string {
  const after = side(c.exposure, c.cidrs);
  if (!c.before || c.reason !== undefined) return c.reason !== undefined ? `${after} (${cell(c.reason)})` : after;
  return `${side(c.before.exposure, c.before.cidrs)} → ${after}`;
}

function side(exposure: Exposure, cidrs: readonly string[]): string {
  const word = exposure === 'public' ? (cidrs.length === 0 ? '🌐 **PUBLIC**' : '**PUBLIC**') : 'private';
  return cidrs.length > 0 ? `${word} from ${cidrs.join(', ')}` : word;
}

/** Text safe inside a table cell: pipes escaped, one line. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
