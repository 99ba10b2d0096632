import { parseAllDocuments } from 'yaml';

// Reading rendered YAML back. The `yaml` library costs about half a millisecond for a 40-line document,
// which over 10,000 clusters is several times the cost of loading the manifests. Templates emit every value
// through `q`, so their output is a narrow kind of YAML: block maps and lists whose leaves are JSON
// literals or plain words. That kind is read here directly (JSON.parse does the leaves); anything outside
// it falls back, document set and all, to the `yaml` library, so an operator template may use any YAML.

export type ParseResult = { docs: unknown[] } | { error: string };

/** The non-empty documents of a rendered template, in order. */
export function parseRendered(text: string): ParseResult {
  const fast = parseSimple(text);
  return fast ? { docs: fast } : parseFull(text);
}

/** The `yaml` library, for anything the simple reader does not take. */
export function parseFull(text: string): ParseResult {
  const docs: unknown[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true })) {
    const error = doc.errors[0];
    if (error) return { error: error.message.replace(/\s+/g, ' ').trim() };
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    if (data !== null && data !== undefined) docs.push(data);
  }
  return { docs };
}

/** Thrown inside the simple reader when the text leaves its kind of YAML. */
class Unsupported extends Error {}

// Characters YAML treats differently from JSON or forbids; q escapes them, so they only come from a template.
const AWKWARD_CHARS = /[\t\r\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
const PLAIN_KEY = /^([A-Za-z_][A-Za-z0-9_./-]*):(?: +|$)/;
const PLAIN_WORD = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const INTEGER = /^-?(?:0|[1-9][0-9]{0,14})$/;
// Plain words the YAML core schema reads as something other than a string.
const NOT_A_STRING = /^(?:true|True|TRUE|false|False|FALSE|null|Null|NULL)$/;
const MAX_KEY = 1024;

/** The documents, or undefined when the text is not of the simple kind. Exported for the cross-check tests. */
export function parseSimple(text: string): unknown[] | undefined {
  if (AWKWARD_CHARS.test(text)) return undefined;
  try {
    const docs: unknown[] = [];
    let indents: number[] = [];
    let contents: string[] = [];
    const flush = () => {
      if (contents.length > 0) docs.push(new Reader(indents, contents).document());
      indents = [];
      contents = [];
    };
    for (const raw of text.split('\n')) {
      if (raw.startsWith('---') || raw.startsWith('...') || raw.startsWith('%')) {
        if (raw.trimEnd() !== '---') return undefined;
        flush();
        continue;
      }
      let indent = 0;
      while (raw.charCodeAt(indent) === 32) indent++;
      if (indent === raw.length || raw[indent] === '#') continue;
      indents.push(indent);
      contents.push(raw.charCodeAt(raw.length - 1) === 32 ? raw.slice(indent).trimEnd() : raw.slice(indent));
    }
    flush();
    return docs;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** A recursive-descent reader over the significant lines of one document. */
class Reader {
  private pos = 0;

  constructor(
    private readonly indents: number[],
    private readonly contents: string[],
  ) {}

  document(): unknown {
    const value = this.block(this.indents[0]!);
    if (this.pos !== this.contents.length || typeof value !== 'object' || value === null || Array.isArray(value)) throw new Unsupported();
    return value;
  }

  private block(indent: number): unknown {
    return isItem(this.contents[this.pos]!) ? this.list(indent) : this.map(indent);
  }

  private list(indent: number): unknown[] {
    const items: unknown[] = [];
    while (this.pos < this.contents.length && this.indents[this.pos] === indent && isItem(this.contents[this.pos]!)) {
      const content = this.contents[this.pos]!;
      const afterDash = content.slice(1);
      const rest = afterDash.trimStart();
      if (rest === '' || isItem(rest)) throw new Unsupported();
      if (splitKey(rest)) {
        // `- key: value`: a map whose first line starts after the dash.
        const itemIndent = indent + 1 + afterDash.length - rest.length;
        this.indents[this.pos] = itemIndent;
        this.contents[this.pos] = rest;
        items.push(this.map(itemIndent));
      } else {
        items.push(scalar(rest));
        this.pos++;
      }
      this.expectNoDeeper(indent);
    }
    return items;
  }

  private map(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    while (this.pos < this.contents.length && this.indents[this.pos] === indent) {
      const entry = splitKey(this.contents[this.pos]!);
      if (!entry || entry.key === '__proto__' || Object.hasOwn(map, entry.key)) throw new Unsupported();
      this.pos++;
      let value: unknown = null;
      if (entry.rest !== '') value = scalar(entry.rest);
      else if (this.pos < this.contents.length) {
        const next = this.indents[this.pos]!;
        if (next > indent) value = this.block(next);
        else if (next === indent && isItem(this.contents[this.pos]!)) value = this.list(indent);
      }
      map[entry.key] = value;
      this.expectNoDeeper(indent);
    }
    return map;
  }

  /** A line deeper than the node just read would continue it (a multi-line scalar, say): not our kind. */
  private expectNoDeeper(indent: number): void {
    if (this.pos < this.contents.length && this.indents[this.pos]! > indent) throw new Unsupported();
  }
}

const isItem = (content: string): boolean => content === '-' || content.startsWith('- ');

function splitKey(content: string): { key: string; rest: string } | undefined {
  if (content.startsWith('"')) {
    let end = 1;
    while (end < content.length && content[end] !== '"') end += content[end] === '\\' ? 2 : 1;
    if (end >= content.length || end > MAX_KEY) return undefined;
    const after = content.slice(end + 1);
    if (after !== ':' && !after.startsWith(': ')) return undefined;
    const key = json(content.slice(0, end + 1));
    if (typeof key !== 'string') throw new Unsupported();
    return { key, rest: after.slice(1).trimStart() };
  }
  const match = PLAIN_KEY.exec(content);
  if (!match || match[1]!.length > MAX_KEY || NOT_A_STRING.test(match[1]!)) return undefined;
  return { key: match[1]!, rest: content.slice(match[0].length) };
}

function scalar(text: string): unknown {
  const first = text[0];
  if (first === '"' || first === '[' || first === '{') {
    if (text.includes('__proto__')) throw new Unsupported();
    return json(text);
  }
  if (INTEGER.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (PLAIN_WORD.test(text) && !NOT_A_STRING.test(text)) return text;
  throw new Unsupported();
}

function json(text: string): unknown {
  // Most leaves are strings without escapes: those need no JSON.parse.
  if (text[0] === '"' && text.indexOf('\\') === -1 && text.indexOf('"', 1) === text.length - 1) return text.slice(1, -1);
  try {
    return JSON.parse(text);
  } catch {
    throw new Unsupported();
  }
}
