import type { Problem } from '../model.js';

/** `FILE:LINE:COL: message` — the form editors and CI annotators jump to. */
export function problemLine(problem: Problem): string {
  const { file, line, col } = problem.at;
  const level = problem.severity === 'warning' ? 'warning: ' : '';
  return `${oneLine(file)}:${line}:${col}: ${level}${oneLine(cut(problem.message))}`;
}

/** A message longer than this is cut on the line (JSON output keeps it whole): it quoted a huge value somewhere. */
export const MAX_MESSAGE_LINE = 1000;

const cut = (message: string): string => (message.length > MAX_MESSAGE_LINE ? `${message.slice(0, MAX_MESSAGE_LINE)}… (${message.length - MAX_MESSAGE_LINE} more characters)` : message);

// Line breaks (YAML's and Unicode's) and other control characters a value may carry into a message.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * The text with control characters written as JSON escapes (`\n`, `\u2028`): a value quoted in a message
 * must not start a new line, or it could forge a `FILE:LINE:COL:` line for whatever reads the output.
 */
export function oneLine(text: string): string {
  return text.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Longer values are cut in messages: the message must still fit a line, and the position shows the rest. */
const MAX_QUOTED = 60;

/** A value from a manifest as a message quotes it: `'value'`, on one line, cut to a readable length. */
export function quote(value: string): string {
  return `'${oneLine(value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value)}'`;
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
