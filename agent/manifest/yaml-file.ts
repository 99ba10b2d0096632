import { isMap, isPair, isScalar, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { Position, Problem } from '../model.js';

// Aliases are legitimate in YAML, but a few hundred of them nested is how alias bombs work.
const MAX_ALIAS_COUNT = 100;

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
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const problems: Problem[] = [];
  let parsed: Document.Parsed[];
  try {
    parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[];
  } catch (err) {
    return { docs: [], problems: [syntaxProblem(`cannot parse YAML: ${(err as Error).message}`, { file, line: 1, col: 1 })] };
  }
  if (!Array.isArray(parsed)) parsed = [parsed];
  for (const doc of parsed) {
    for (const err of [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')]) {
      problems.push(syntaxProblem(yamlMessage(err.code, err.message), at(err.pos[0])));
    }
  }
  if (problems.length > 0) return { docs: [], problems };

  const docs: YamlDoc[] = [];
  for (const doc of parsed) {
    if (doc.contents === null) continue; // `---` with nothing after it
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const message =
        err instanceof ReferenceError && /alias/i.test(err.message)
          ? `too many YAML aliases (more than ${MAX_ALIAS_COUNT} expansions): write the values out instead of nesting aliases`
          : `cannot read YAML: ${(err as Error).message}`;
      problems.push(syntaxProblem(message, at(doc.contents.range[0])));
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

function syntaxProblem(message: string, at: Position): Problem {
  return { code: 'YAML_SYNTAX', severity: 'error', message, at };
}

function yamlMessage(code: string, message: string): string {
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
