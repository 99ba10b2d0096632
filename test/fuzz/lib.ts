// What the fuzzers and the hostile corpus share: the checks every outcome must pass (problems are
// `FILE:LINE:COL: message` inside the file), hostile values, and the tally each test prints (inputs
// tried, inputs failed). The bounded pipeline itself is in runner.ts.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { planBetween, withLastGood } from '../../agent/engine/index.js';
import { MAX_MESSAGE_LINE, problemLine } from '../../agent/manifest/format-problem.js';
import type { DesiredState, Plan } from '../../agent/model.js';
import { CASE_BOUND_MS, type Outcome } from './runner.js';

/** Cases per property; `npm run test:long` raises it. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
/** fast-check settings: `runs` cases, and the failed assertion's message in the report. */
export const fcOptions = (runs = RUNS) => ({ numRuns: runs, includeErrorInReport: true });

/** Position, level and a message cut at MAX_MESSAGE_LINE, with the note of how much was cut. */
const MAX_LINE = MAX_MESSAGE_LINE + 100;
const PROBLEM_LINE = /^([^\n]+?):(\d+):(\d+): ([^\n]+)$/;

/**
 * Every problem prints as one `FILE:LINE:COL: message` line, FILE is a file the input has, and LINE:COL is a
 * place in it (a column may sit just past the line's last character, where a missing value would go).
 */
export function assertLocated(desired: DesiredState, sources: Readonly<Record<string, string>>): void {
  const linesOf = new Map<string, string[]>();
  for (const problem of desired.problems) {
    const line = problemLine(problem);
    const match = PROBLEM_LINE.exec(line);
    assert.ok(match, `a problem prints as one FILE:LINE:COL: message line: ${JSON.stringify(line)}`);
    const text = sources[problem.at.file];
    assert.ok(text !== undefined, `problem points at a file of the input: ${JSON.stringify(line.slice(0, 300))}`);
    const lines = linesOf.get(problem.at.file) ?? linesOf.set(problem.at.file, text.split('\n')).get(problem.at.file)!;
    assert.ok(Number.isInteger(problem.at.line) && problem.at.line >= 1 && problem.at.line <= lines.length, `line ${problem.at.line} within ${problem.at.file} (${lines.length} lines): ${line.slice(0, 300)}`);
    const width = lines[problem.at.line - 1]!.length;
    assert.ok(Number.isInteger(problem.at.col) && problem.at.col >= 1 && problem.at.col <= width + 1, `col ${problem.at.col} within line ${problem.at.line} (${width} chars): ${line.slice(0, 300)}`);
    assert.ok(!/\bat .*\.[tj]s:\d+/.test(problem.message), `a message, not a stack: ${problem.message.slice(0, 300)}`);
    // A raw line break would let a value forge another FILE:LINE:COL line for a CI annotator.
    assert.ok(!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(line), `a problem prints without control characters: ${JSON.stringify(line.slice(0, 300))}`);
    assert.ok(line.length <= MAX_LINE + problem.at.file.length, `a problem line of at most ${MAX_LINE} chars past the file name (${line.length}): ${line.slice(0, 300)}…`);
  }
  for (const cluster of desired.clusters) {
    for (const spec of cluster.ports) assert.ok(spec.from >= 1 && spec.to <= 65535 && spec.from <= spec.to, `normalised port ${spec.from}-${spec.to}`);
  }
}

/** The outcome is a desired state (no crash, no hang) whose problems are all located; returns it. */
export function assertHealthy(outcome: Outcome, sources: Readonly<Record<string, string>>): DesiredState {
  if (outcome.kind === 'hang') assert.fail(`the pipeline took more than ${CASE_BOUND_MS} ms (a hang)`);
  if (outcome.kind === 'crash') assert.fail(`the pipeline crashed: ${outcome.error}`);
  assertLocated(outcome.desired, sources);
  return outcome.desired;
}

/** What a pass would do going from `base` to `head`, with broken manifests keeping their last good state. */
export function planAfter(base: DesiredState, head: DesiredState): Plan {
  const { clusters } = withLastGood(base.clusters, head);
  return planBetween(base, { revision: head.revision, clusters });
}

/** Inputs tried and failed by one test, printed with t.diagnostic (the count report of issue 7). */
export class Tally {
  tried = 0;
  failed = 0;
  slowestMs = 0;

  /** Wraps a property's predicate so every call (shrinking included) is counted. */
  count<A extends unknown[]>(predicate: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
    return async (...args: A) => {
      this.tried++;
      try {
        await predicate(...args);
      } catch (error) {
        this.failed++;
        throw error;
      }
    };
  }

  time(ms: number): void {
    this.slowestMs = Math.max(this.slowestMs, ms);
  }

  report(t: TestContext): void {
    t.diagnostic(`tried ${this.tried} inputs, ${this.failed} failed${this.slowestMs > 0 ? `, slowest ${Math.round(this.slowestMs)} ms` : ''}`);
  }
}

/** Values crafted to break YAML, templates, paths or terminals; each must end up as data or as a located error. */
export const HOSTILE_STRINGS: readonly string[] = [
  'x\n  injected: true',
  'x\ninjected: true\n---\nkind: Forward',
  '{{ 7*7 }}',
  '{% raw %}',
  '{{',
  '}}',
  '{# c',
  '---',
  '...',
  '\u2028',
  'a\u2029b',
  'a\u0000b',
  '\u0085',
  '\ufeffx',
  '\r\ninjected: true',
  '\t',
  '" injected: "true',
  "' injected: 'true",
  'a: b',
  '- x',
  '#x',
  '&a x',
  '*a',
  '!!js/function f',
  '!!binary AA==',
  '<<: {x: 1}',
  '${HOME}',
  '$(id)',
  '`id`',
  '../../etc/passwd',
  '/etc/passwd',
  '__proto__',
  'constructor',
  '',
  ' ',
  'null',
  'true',
  '0x10',
  '1e400',
  '.nan',
  'A'.repeat(70_000),
];

export const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
export const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 12 }), word);
export const anyScalar = fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.double({ noNaN: false }), fc.constantFrom(...HOSTILE_STRINGS));
/** A hostile value of any shape: a scalar, or a small list or map of them (keys hostile too). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(hostileString, anyScalar) },
  { weight: 1, arbitrary: fc.array(fc.oneof(hostileString, anyScalar), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, fc.oneof(hostileString, anyScalar), { maxKeys: 3 }) },
);

/** Text that is nearly YAML: its punctuation, some keys, tabs. */
export const yamlish = fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&', '*', '!', '"', "'", '#', '|', '>', '1', 'name', 'ports', '\t', '%', '@', '`', '---\n', '<<'), maxLength: 200 });
export const anyText = fc.oneof(yamlish, fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 80 }));

/** Random insertions and deletions, as a careless edit or a bad merge makes them. */
export const edits = fc.array(fc.record({ at: fc.nat(), remove: fc.nat({ max: 6 }), insert: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(': ', '\n', '- ', '  ', '---\n', '{', '"', '&a ', '*a')) }), { minLength: 1, maxLength: 3 });

export function applyEdits(text: string, list: readonly { at: number; remove: number; insert: string }[]): string {
  let out = text;
  for (const e of list) {
    const at = e.at % (out.length + 1);
    out = out.slice(0, at) + e.insert + out.slice(at + e.remove);
  }
  return out;
}
