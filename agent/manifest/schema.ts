import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Problem, ProblemCode } from '../model.js';
import { schemasDir } from '../paths.js';
import { quote } from './format-problem.js';
import { suggest } from './suggest.js';
import type { Path, YamlDoc } from './yaml-file.js';

export type SchemaName = 'cluster' | 'settings';

const validators = new Map<SchemaName, ValidateFunction>();

function validator(name: SchemaName): ValidateFunction {
  let validate = validators.get(name);
  if (!validate) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    ajv.addVocabulary(['x-hint']);
    // ajv-formats is CommonJS: under nodenext the plugin function is its `default` property.
    addFormats.default(ajv);
    const schema = JSON.parse(readFileSync(`${schemasDir()}/${name}.schema.json`, 'utf8')) as object;
    validate = ajv.compile(schema);
    validators.set(name, validate);
  }
  return validate;
}

/** Checks a document against a schema in schemas/ and returns one problem per fault, at the faulty node. */
export function checkSchema(name: SchemaName, doc: YamlDoc, cluster?: string): Problem[] {
  const validate = validator(name);
  if (validate(doc.data)) return [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of relevantErrors(validate.errors ?? [])) {
    const problem = toProblem(error, doc, cluster);
    const key = `${problem.at.line}:${problem.at.col}:${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  // ajv's order follows the schema; people read a file top to bottom.
  return problems.sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
}

/** ajv reports both a failed `if/then` and the `required` inside it, and every branch of an `anyOf`: keep what helps. */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  // An error inside `propertyNames` (ajv marks it with the key) repeats the `propertyNames` one after it,
  // which names the key at the key's own position: keep that one, with the hint.
  const kept = errors.filter((e) => e.keyword !== 'if' && (e as { propertyName?: string }).propertyName === undefined);
  const anyOfPaths = new Set(kept.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  return kept.filter((e) => !(anyOfPaths.has(e.instancePath) && e.schemaPath.includes('/anyOf/')));
}

function toProblem(error: ErrorObject, doc: YamlDoc, cluster: string | undefined): Problem {
  const path = pointerToPath(error.instancePath);
  const where = path.length > 0 ? quote(path.join('.')) : 'the document';
  const hint = (error.parentSchema as { 'x-hint'?: string } | undefined)?.['x-hint'];
  let code: ProblemCode = 'SCHEMA';
  let message: string;
  let at = doc.locate(path);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const near = suggest(key, known);
      code = 'UNKNOWN_KEY';
      at = doc.locateKey([...path, key]);
      message = near
        ? `unknown key ${quote(key)} — did you mean '${near}'?`
        : `unknown key ${quote(key)}${known.length > 0 ? ` — known keys here: ${known.join(', ')}` : ''}`;
      break;
    }
    case 'required': {
      const key = String(params.missingProperty);
      message = `${where} is missing required key '${key}'`;
      if (path.length === 0 && key !== 'name' && key !== 'cloud') message += ` (a cluster on cloud: ${key} needs a '${key}:' block)`;
      break;
    }
    case 'type':
      message = `${where} must be ${article(String(params.type))}, not ${describe(error.data)}`;
      break;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const near = typeof error.data === 'string' ? suggest(error.data, allowed) : undefined;
      message = `${where} must be one of ${allowed.join(', ')}${near ? ` — did you mean '${near}'?` : ''}`;
      break;
    }
    case 'propertyNames': {
      const key = String(params.propertyName);
      at = doc.locateKey([...path, key]);
      const keyHint = (error.parentSchema as { propertyNames?: { 'x-hint'?: string } } | undefined)?.propertyNames?.['x-hint'];
      message = `${where} has an invalid key ${quote(key)}${keyHint ? `: expected ${keyHint}` : ''}`;
      break;
    }
    case 'pattern':
    case 'format':
    case 'anyOf':
      message = `${where} is not valid${hint ? `: expected ${hint}` : error.keyword === 'format' ? `: expected ${String(params.format)}` : ''}`;
      break;
    default:
      message = `${where} ${error.message ?? 'is not valid'}`;
  }
  if (hint && !message.includes(hint) && error.keyword !== 'additionalProperties') message += ` (${hint})`;
  return { code, severity: 'error', message, at, ...(cluster ? { cluster } : {}) };
}

function pointerToPath(pointer: string): Path {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^(0|[1-9][0-9]*)$/.test(part) ? Number(part) : part));
}

function article(type: string): string {
  const words = type.split(',').map((t) => (t === 'object' ? 'a map' : t === 'array' ? 'a list' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`));
  return words.join(' or ');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
