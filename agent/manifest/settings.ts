import type { Problem, Settings } from '../model.js';
import { parseCidr } from './cidr.js';
import { checkSchema } from './schema.js';
import { parseYamlFile, type YamlDoc } from './yaml-file.js';

export const SETTINGS_FILE = 'config.yaml';

export const RFC1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

export function defaultSettings(): Settings {
  return {
    private_cidrs: [...RFC1918],
    kubernetes: {
      ports: 'loadbalancer',
      custom_metadata: { labels: {}, annotations: {} },
      ingress: { class: 'nginx', tls: false },
    },
    aws: { use_internal_ips: false },
    gcp: { vpc_name: 'default' },
    node: { port_range: { from: 10000, to: 11000 }, backend: 'auto' },
    guard: { max_close_share: 0.5, allow_mass_close: false },
  };
}

export interface SettingsSource {
  /** Shown in errors: `config.yaml` for the repo's, the path given for the admin's `--config FILE`. */
  file: string;
  text: string;
}

export interface SettingsResult {
  settings: Settings;
  problems: Problem[];
  /** False when a settings file had an error: the caller must not act on guessed settings. */
  ok: boolean;
}

/**
 * Reads the settings files in order of increasing precedence (the repo's config.yaml, then the admin's
 * --config FILE) and merges them over the defaults. Maps merge key by key; lists and scalars replace.
 */
export function loadSettings(sources: readonly SettingsSource[]): SettingsResult {
  const problems: Problem[] = [];
  let merged: Record<string, unknown> = {};
  for (const source of sources) {
    const { docs, problems: syntax } = parseYamlFile(source.file, source.text);
    problems.push(...syntax);
    if (docs.length > 1) {
      problems.push({ code: 'SCHEMA', severity: 'error', message: 'settings must be one YAML document: remove the extra `---`', at: docs[1]!.locate([]) });
    }
    const doc = docs[0];
    if (!doc || doc.data === undefined || doc.data === null) continue;
    const found = checkSchema('settings', doc);
    found.push(...checkValues(doc));
    problems.push(...found);
    if (found.length === 0) merged = mergeMaps(merged, doc.data as Record<string, unknown>);
  }
  return { settings: withDefaults(merged), problems, ok: problems.length === 0 };
}

/** What JSON Schema cannot say: CIDRs that parse, a port range that is not reversed. */
function checkValues(doc: YamlDoc): Problem[] {
  const data = doc.data as Record<string, unknown>;
  const problems: Problem[] = [];
  const cidrs = data.private_cidrs;
  if (Array.isArray(cidrs)) {
    cidrs.forEach((cidr, i) => {
      const parsed = parseCidr(String(cidr));
      if ('error' in parsed) {
        problems.push({ code: 'BAD_CIDR', severity: 'error', message: `private_cidrs: ${parsed.error}`, at: doc.locate(['private_cidrs', i]) });
      }
    });
  }
  const range = (data.node as Record<string, unknown> | undefined)?.port_range;
  if (typeof range === 'string') {
    const [from, to] = range.split('-').map(Number) as [number, number];
    if (!(from >= 1 && to <= 65535 && from <= to)) {
      problems.push({
        code: 'PORT_RANGE',
        severity: 'error',
        message: `node.port_range ${range} is not a range of ports: write FROM-TO with 1 <= FROM <= TO <= 65535, e.g. 10000-11000`,
        at: doc.locate(['node', 'port_range']),
      });
    }
  }
  return problems;
}

function mergeMaps(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = Object.hasOwn(out, key) ? out[key] : undefined;
    // Defined, not assigned: `out['__proto__'] = v` would set the prototype and drop the key (a label named __proto__).
    Object.defineProperty(out, key, { value: isPlainMap(prev) && isPlainMap(value) ? mergeMaps(prev, value) : value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withDefaults(raw: Record<string, unknown>): Settings {
  const defaults = defaultSettings() as unknown as Record<string, unknown>;
  const { node, private_cidrs, ...rest } = raw as { node?: Record<string, unknown>; private_cidrs?: string[] } & Record<string, unknown>;
  const settings = mergeMaps(defaults, rest) as unknown as Settings;
  if (private_cidrs) settings.private_cidrs = private_cidrs.map((c) => (parseCidr(c) as { cidr: string }).cidr);
  if (node) {
    const { port_range, ...nodeRest } = node;
    Object.assign(settings.node, nodeRest);
    if (typeof port_range === 'string') {
      const [from, to] = port_range.split('-').map(Number) as [number, number];
      settings.node.port_range = { from, to };
    }
  }
  return settings;
}
