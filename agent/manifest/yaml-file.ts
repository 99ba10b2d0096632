import { isMap, isPair, isScalar, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import type { Position, Problem } from '../model.js';

// Aliases are legitimate in YAML, but a few hundred of them nested is how alias bombs work.
const MAX_ALIAS_COUNT = 100;

/**
 * Longer texts are refused before parsing: yaml takes seconds per megabyte. The sources refuse files over
 * 1 MiB (source/snapshot.ts), and a UTF-8 file has at least as many bytes as its text has UTF-16 units, so
 * this only stops texts that came another way (the admin's --config FILE, a test).
 */
export const MAX_YAML_CHARS = 1024 * 1024;

/**
 * More documents than this in one file are refused before parsing: yaml spends about 0.1 ms on each, so
 * 100,000 empty `---` lines (400 KB) would hold a pass for seconds.
 */
export const MAX_DOCUMENTS = 10_000;

export type Path = readonly (string | number)[];

/** One YAML document of a file, with the means to turn a path inside it into a file position. */
export interface YamlDoc {
  file: string;
  /** The document as plain data; undefined for an empty document. */
  data: unknown;
  /** Position of the value at `path`, or of the deepest ancestor that exists. */
  locate(path: Path): Position;
  /** Position of the key of the entry at `path` (for unknown keys), or of the value when there is no key. */
  locateKey(path: Path): Position;
}

export interface YamlFile {
  docs: YamlDoc[];
  problems: Problem[];
}

/** Parses every document of a file. A file with any syntax error yields no documents: half a file is not trusted. */
export function parseYamlFile(file: string, text: string): YamlFile {
  if (text.length > MAX_YAML_CHARS) {
    const message = `file has ${text.length} characters, more than the ${MAX_YAML_CHARS} a manifest or settings file may have: split it into several files`;
    return { docs: [], problems: [{ code: 'FILE_TOO_LARGE', severity: 'error', message, at: { file, line: 1, col: 1 } }] };
  }
  const at = positions(file, text);
  const extra = extraDocumentStart(text);
  if (extra !== undefined) {
    const message = `file has more than ${MAX_DOCUMENTS} YAML documents (this \`---\` starts one more): split it into several files`;
    return { docs: [], problems: [syntaxProblem(message, at(extra))] };
  }
  const problems: Problem[] = [];
  let parsed: Document.Parsed[];
  try {
    // yaml's own uniqueKeys compares each key with every earlier one: 50,000 keys in half a megabyte take a
    // minute. duplicateKeys does the same check with a set.
    parsed = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false }) as Document.Parsed[];
    if (!Array.isArray(parsed)) parsed = [parsed];
    for (const doc of parsed) {
      for (const err of [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')]) {
        problems.push(syntaxProblem(yamlMessage(err.code, err.message), at(err.pos[0])));
      }
      if (doc.errors.length === 0) for (const offset of duplicateKeys(doc)) problems.push(syntaxProblem(yamlMessage('DUPLICATE_KEY', 'Map keys must be unique'), at(offset)));
    }
  } catch (err) {
    return { docs: [], problems: [syntaxProblem(`cannot parse YAML: ${yamlMessage('', (err as Error).message)}`, { file, line: 1, col: 1 })] };
  }
  if (problems.length > 0) return { docs: [], problems };

  const docs: YamlDoc[] = [];
  for (const doc of parsed) {
    // `---` with nothing (or only comments) after it, as a file ending in `---` has: yaml gives it an empty null scalar.
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null && contents.source === '')) continue;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const message =
        err instanceof ReferenceError && /alias/i.test(err.message)
          ? `too many YAML aliases (more than ${MAX_ALIAS_COUNT} expansions): write the values out instead of nesting aliases`
          : `cannot read YAML: ${yamlMessage('', (err as Error).message)}`;
      problems.push(syntaxProblem(message, at(contents.range[0])));
      return { docs: [], problems };
    }
    docs.push({
      file,
      data,
      locate: (path) => at(nodeAt(doc, path).range?.[0] ?? 0),
      locateKey: (path) => at(keyAt(doc, path)?.range?.[0] ?? nodeAt(doc, path).range?.[0] ?? 0),
    });
  }
  return { docs, problems };
}

/**
 * Offsets to positions, from the text's own line breaks. yaml's LineCounter misses the breaks inside a
 * multi-line quoted scalar, which puts every later position on the wrong line.
 */
function positions(file: string, text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    const clamped = Math.max(0, Math.min(offset, text.length));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= clamped) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, col: clamped - starts[low]! + 1 };
  };
}

/** Offset of the `---` that starts document MAX_DOCUMENTS + 1, counting marker lines (an upper bound: cheap, and never too low). */
function extraDocumentStart(text: string): number | undefined {
  let count = text.startsWith('---') ? 0 : 1;
  for (let i = text.startsWith('---') ? 0 : text.indexOf('\n---'); i >= 0; i = text.indexOf('\n---', i + 1)) {
    const start = text[i] === '\n' ? i + 1 : i;
    if (++count > MAX_DOCUMENTS) return start;
  }
  return undefined;
}

function syntaxProblem(message: string, at: Position): Problem {
  return { code: 'YAML_SYNTAX', severity: 'error', message, at };
}

/** Where a key repeats an earlier key of its map (scalar keys compared by value, as yaml's uniqueKeys does). */
function duplicateKeys(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) offsets.push(pair.key.range?.[0] ?? 0);
        seen.add(pair.key.value);
      }
    },
  });
  return offsets;
}

function yamlMessage(code: string, message: string): string {
  // yaml composes nested nodes recursively: thousands of levels run out of stack, which it reports as an error.
  if (/call stack/i.test(message)) return `the document nests too deeply for a manifest: write it with fewer levels of lists and maps`;
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `${first}: remove or rename the second one`;
  return first;
}

/** The node at `path`, or the deepest existing ancestor (so a missing key points at its parent map). */
function nodeAt(doc: Document.Parsed, path: Path): Node {
  const root = doc.contents as Node;
  for (let i = path.length; i >= 0; i--) {
    const node = i === 0 ? root : (doc.getIn(path.slice(0, i), true) as Node | undefined);
    if (node && typeof node === 'object' && 'range' in node) return node;
  }
  return root;
}

function keyAt(doc: Document.Parsed, path: Path): Node | undefined {
  if (path.length === 0) return undefined;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const key = path[path.length - 1];
  for (const pair of parent.items) {
    if (isPair(pair) && isScalar(pair.key) && pair.key.value === key) return pair.key;
  }
  return undefined;
}
