import type { Plan, Position, Problem, Violation } from '../model.js';

export interface SarifOptions {
  /** The portcullis version the tool entry names. */
  version: string;
  /** The config repo's directory inside the git repository (`''` or `path/to/dir/`): SARIF paths are from the repository root. */
  uriPrefix?: string;
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  defaultConfiguration: { level: SarifLevel };
}

type SarifLevel = 'error' | 'warning' | 'note';

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number; startColumn: number } } }[];
}

const LEVEL: Record<Violation['mode'], SarifLevel> = { enforce: 'error', warn: 'warning', audit: 'note' };

/**
 * The plan's policy violations and problems as SARIF 2.1.0, so code-scanning tools annotate the offending
 * line of the pull request. Violations are rules `policy/rule`; other problems `portcullis/CODE`. The port
 * changes themselves are not findings and are left to the markdown and JSON views.
 */
export function planSarif(plan: Plan, options: SarifOptions): string {
  const rules: SarifRule[] = [];
  const index = new Map<string, number>();
  const ruleIndex = (id: string, description: string, level: SarifLevel): number => {
    let i = index.get(id);
    if (i === undefined) {
      i = rules.push({ id, name: id, shortDescription: { text: description }, defaultConfiguration: { level } }) - 1;
      index.set(id, i);
    }
    return i;
  };
  const location = (at: Position) => ({
    physicalLocation: {
      artifactLocation: { uri: `${options.uriPrefix ?? ''}${at.file}`, uriBaseId: '%SRCROOT%' },
      region: { startLine: Math.max(1, at.line), startColumn: Math.max(1, at.col) },
    },
  });
  const results: SarifResult[] = [];
  for (const v of plan.violations ?? []) {
    const id = `${v.policy}/${v.rule}`;
    const level = LEVEL[v.mode];
    results.push({ ruleId: id, ruleIndex: ruleIndex(id, `admin policy ${v.policy}, rule ${v.rule}`, level), level, message: { text: `[${id}] ${v.message}` }, locations: [location(v.at)] });
  }
  for (const p of plan.problems.filter(isNotPolicy)) {
    const id = `portcullis/${p.code}`;
    const level: SarifLevel = p.severity === 'error' ? 'error' : 'warning';
    results.push({ ruleId: id, ruleIndex: ruleIndex(id, `portcullis manifest problem ${p.code}`, level), level, message: { text: p.message }, locations: [location(p.at)] });
  }
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'portcullis', version: options.version, informationUri: 'https://portcullis.dev', rules } }, results }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** Policy problems repeat violations, which carry more (the rule): each finding is reported once. */
function isNotPolicy(p: Problem): boolean {
  return p.code !== 'POLICY_DENIED' && p.code !== 'POLICY_WARNING';
}
