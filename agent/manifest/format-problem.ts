import type { Problem } from '../model.js';

/** `FILE:LINE:COL: message` — the form editors and CI annotators jump to. */
export function problemLine(problem: Problem): string {
  const { file, line, col } = problem.at;
  const level = problem.severity === 'warning' ? 'warning: ' : '';
  return `${file}:${line}:${col}: ${level}${problem.message}`;
}

/**
 * The problem line followed by the offending source line with a caret under the fault, as compilers
 * print it. `sources` maps a file to its text; a file we do not have prints the problem line alone.
 */
export function problemWithSource(problem: Problem, sources: ReadonlyMap<string, string>): string {
  const text = sources.get(problem.at.file);
  const head = problemLine(problem);
  if (text === undefined) return head;
  const sourceLine = lineOf(text, problem.at.line);
  if (sourceLine === undefined) return head;
  const gutter = String(problem.at.line).length;
  const shown = sourceLine.replace(/\t/g, ' ').slice(0, 200);
  const caret = ' '.repeat(Math.max(0, Math.min(problem.at.col - 1, shown.length))) + '^';
  return `${head}\n ${String(problem.at.line).padStart(gutter)} | ${shown}\n ${' '.repeat(gutter)} | ${caret}`;
}

function lineOf(text: string, line: number): string | undefined {
  let start = 0;
  for (let i = 1; i < line; i++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return undefined;
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
}
