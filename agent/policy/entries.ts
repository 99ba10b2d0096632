import { suggest } from '../manifest/suggest.js';
import type { SettingsSource } from '../manifest/settings.js';
import { parseYamlFile, type YamlDoc } from '../manifest/yaml-file.js';
import type { PolicyMode, Position, Problem } from '../model.js';
import { BUILTIN_POLICIES } from '../../policies/index.js';

/** One entry of `admin_policy`, read: what to load, how it runs, and where it is written. */
export interface PolicyEntry {
  kind: 'builtin' | 'module' | 'url';
  /** The built-in's name, the module (absolute path, `./path` in the config repo, or package), or the URL. */
  ref: string;
  /** The name violations carry: the built-in's name, the module's file or package name, the URL's host and path. */
  name: string;
  mode: PolicyMode;
  /** The entry's other keys: the policy's settings. */
  settings: Record<string, unknown>;
  at: Position;
  /**
   * Which file named it: the admin's own --config file, or the watched repo's config.yaml, which anyone
   * who can commit may write. Only the admin may name code on the agent's machine (loader.ts).
   */
  origin?: 'admin' | 'repo';
}

const RESERVED = new Set(['name', 'module', 'url', 'mode']);

/**
 * The `admin_policy` entries of the settings files that loaded cleanly, in order. The last file that sets
 * `admin_policy` wins whole (lists replace), so an admin's --config FILE overrides the repo's config.yaml.
 * The schema has checked shapes and built-in settings; this adds what it cannot say, with positions.
 */
export function readPolicyEntries(sources: readonly SettingsSource[], admin?: SettingsSource): { entries: PolicyEntry[]; problems: Problem[] } {
  let found: { doc: YamlDoc; value: unknown; source: SettingsSource } | undefined;
  for (const source of sources) {
    const doc = parseYamlFile(source.file, source.text).docs[0];
    const data = doc?.data as Record<string, unknown> | undefined;
    if (doc && data && typeof data === 'object' && 'admin_policy' in data) found = { doc, value: data.admin_policy, source };
  }
  if (!found) return { entries: [], problems: [] };
  const { doc, value } = found;
  const list = Array.isArray(value) ? value.map((v, i): [unknown, (string | number)[]] => [v, ['admin_policy', i]]) : [[value, ['admin_policy']] as [unknown, (string | number)[]]];
  const entries: PolicyEntry[] = [];
  const problems: Problem[] = [];
  for (const [raw, path] of list) {
    const entry = readEntry(raw, doc.locate(path));
    if ('message' in entry) problems.push({ code: 'POLICY_CONFIG', severity: 'error', message: entry.message, at: entry.at });
    else entries.push({ ...entry, origin: found.source === admin ? 'admin' : 'repo' });
  }
  return { entries, problems };
}

function readEntry(raw: unknown, at: Position): PolicyEntry | { message: string; at: Position } {
  if (typeof raw === 'string') {
    if (BUILTIN_POLICIES.has(raw)) return { kind: 'builtin', ref: raw, name: raw, mode: 'enforce', settings: {}, at };
    if (raw.startsWith('/')) return { kind: 'module', ref: raw, name: moduleName(raw), mode: 'enforce', settings: {}, at };
    if (/^https?:\/\//.test(raw)) return urlEntry(raw, 'enforce', {}, at);
    const near = suggest(raw, [...BUILTIN_POLICIES.keys()]);
    return {
      message: near
        ? `unknown admin policy '${raw}' — did you mean '${near}'?`
        : `unknown admin policy '${raw}': built-in policies are ${[...BUILTIN_POLICIES.keys()].join(', ')}; a module is an absolute path or {module: PACKAGE}, a REST policy an https:// URL`,
      at,
    };
  }
  const map = raw as Record<string, unknown>;
  const kinds = (['name', 'module', 'url'] as const).filter((k) => typeof map[k] === 'string');
  if (kinds.length !== 1) return { message: `an admin_policy entry names exactly one of name: (a built-in), module: or url:, not ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`, at };
  const mode = (map.mode as PolicyMode | undefined) ?? 'enforce';
  const settings = Object.fromEntries(Object.entries(map).filter(([k]) => !RESERVED.has(k)));
  const ref = map[kinds[0]!] as string;
  switch (kinds[0]!) {
    case 'name':
      // The schema has already said "did you mean" for an unknown name; this only guards the lookup.
      if (!BUILTIN_POLICIES.has(ref)) return { message: `unknown admin policy '${ref}'`, at };
      return { kind: 'builtin', ref, name: ref, mode, settings, at };
    case 'module':
      return { kind: 'module', ref, name: moduleName(ref), mode, settings, at };
    case 'url':
      return urlEntry(ref, mode, settings, at);
  }
}

function urlEntry(ref: string, mode: PolicyMode, settings: Record<string, unknown>, at: Position): PolicyEntry | { message: string; at: Position } {
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return { message: `admin policy URL '${ref}' is not a URL`, at };
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  // The request carries the whole manifest and the settings: it goes over TLS unless it never leaves the machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return { message: `admin policy URL '${ref}' must be https:// (plain http only to localhost)`, at };
  return { kind: 'url', ref, name: `${url.host}${url.pathname === '/' ? '' : url.pathname}`, mode, settings, at };
}

/** `/etc/portcullis/team-rules.mjs` → `team-rules`; `@acme/portcullis-policy` stays whole. */
function moduleName(ref: string): string {
  if (!ref.startsWith('/') && !ref.startsWith('.')) return ref;
  const base = ref.split('/').pop() ?? ref;
  return base.replace(/\.(m|c)?[jt]s$/, '');
}
