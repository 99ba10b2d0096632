// Injection through every string field of a cluster manifest and of the settings, found by walking
// schemas/*.json (schema-fields.ts), with payloads aimed at YAML, nunjucks, line-oriented output and
// JavaScript objects. The safe outcomes, and the only ones: a located error, with the clusters the value
// touched keeping their last good state; or the rendered objects equal to the clean ones once the value is
// put back, so the value is there verbatim as data and nothing else moved.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { desiredState } from '../../agent/engine/desired.js';
import { withLastGood } from '../../agent/engine/index.js';
import type { DesiredState, Resource } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { assertLocated, Tally } from '../fuzz/lib.js';
import { snapshotOf } from '../helpers/repo.js';
import { fieldName, ITEM, replaceAt, stringFields, type Field } from './schema-fields.js';

const PAYLOADS: Record<string, string> = {
  'newline and indented key': 'x\n  injected: true',
  'a second document': 'x\ninjected: true\n---\nkind: Forward\nname: evil',
  'nunjucks expression': '{{ 7*7 }}',
  'nunjucks raw tag': '{% raw %}',
  'closing braces': '}}',
  'YAML document marker': '---',
  'Unicode line separator': '\u2028',
  'NUL byte': 'a\u0000b',
  'quote breaking out': '" injected: "true',
  'anchor and alias': '&a *a',
  'YAML tag': '!!js/function f',
  'shell expansion': '${HOME}$(id)',
  'path traversal': '../../etc/passwd',
  'prototype key': '__proto__',
  'very long string': 'A'.repeat(70_000),
};

// Values chosen to appear nowhere else in the rendered objects, so putting one back is exact.
const CLUSTERS: Record<string, Record<string, unknown>> = {
  'clusters/kube-lb.yaml': {
    name: 'kube-lb',
    cloud: 'kubernetes',
    labels: { 'lbl-key-1': 'lbl-val-1' },
    kubernetes: { context: 'ctx-prod-1', namespace: 'ns-one', selector: { 'sel-key-1': 'sel-val-1' }, ports: 'loadbalancer' },
    resources: { ports: [{ port: 8443, name: 'portname-one', cidrs: ['10.9.0.0/16'] }, { port: 9100, cidrs: ['10.9.0.0/16'] }] },
  },
  'clusters/kube-ing.yaml': {
    name: 'kube-ing',
    cloud: 'kubernetes',
    labels: { 'lbl-key-2': 'lbl-val-2' },
    kubernetes: { context: 'ctx-prod-1', namespace: 'ns-two', selector: { 'sel-key-2': 'sel-val-2' }, ports: 'ingress' },
    resources: { ports: [{ port: 8080, name: 'portname-two', cidrs: ['10.7.0.0/16'] }] },
  },
  'clusters/aws-one.yaml': {
    name: 'aws-one',
    cloud: 'aws',
    labels: { 'lbl-key-3': 'lbl-val-3' },
    aws: { region: 'eu-west-3', vpc: 'vpc-name-1', security_group: 'sg-name-1', instance_ids: ['i-0123456789abcdef0'] },
    resources: { ports: [{ port: 5432, name: 'portname-three', cidrs: ['10.8.0.0/16'] }] },
  },
  'clusters/aws-two.yaml': { name: 'aws-two', cloud: 'aws', aws: { region: 'eu-west-3', instance_tags: { 'tag-key-2': 'tag-val-2' } }, resources: { ports: ['+tcp:5433'] } },
  'clusters/gcp-one.yaml': {
    name: 'gcp-one',
    cloud: 'gcp',
    labels: { 'lbl-key-4': 'lbl-val-4' },
    gcp: { project: 'proj-gcp-one', network: 'net-gcp-one', target_tags: ['tag-gcp-one'] },
    resources: { ports: [{ port: 5353, protocol: 'udp', name: 'portname-four', cidrs: ['10.6.0.0/16'] }] },
  },
  'clusters/gcp-two.yaml': { name: 'gcp-two', cloud: 'gcp', gcp: { project: 'proj-gcp-two' }, resources: { ports: [5354] } },
  'clusters/node-one.yaml': {
    name: 'node-one',
    cloud: 'node',
    labels: { 'lbl-key-5': 'lbl-val-5' },
    node: { address: '192.0.2.44' },
    resources: { ports: [{ port: 2222, name: 'portname-five', cidrs: ['10.5.0.0/16'] }] },
  },
};

const SETTINGS: Record<string, unknown> = {
  allowed_clouds: ['kubernetes', 'aws', 'gcp', 'node'],
  admin_policy: [
    { name: 'max-ports', max: 1000 },
    { name: 'deny-public-ports', mode: 'audit', ports: [22] },
    { name: 'allowed-port-ranges', mode: 'audit', ranges: ['1-65535'], protocols: ['tcp', 'udp'] },
    { name: 'require-public-cidrs', mode: 'audit', cidrs: ['203.0.113.0/24'] },
    { name: 'allowed-clouds', mode: 'audit', clouds: ['kubernetes', 'aws', 'gcp', 'node'], kubernetes_modes: ['loadbalancer', 'ingress', 'podip'], force_kubernetes_mode: 'loadbalancer' },
    { name: 'internal-load-balancers', mode: 'audit', provider: 'aws', contexts: { 'ctx-prod-1': 'aws' } },
    { name: 'add-labels', labels: { 'added-key-1': 'added-val-1' } },
  ],
  private_cidrs: ['10.0.0.0/8'],
  kubernetes: {
    ports: 'loadbalancer',
    custom_metadata: { labels: { 'meta-lkey-1': 'meta-lval-1' }, annotations: { 'meta-akey-1': 'meta-aval-1' } },
    allowed_contexts: ['ctx-prod-1'],
    ingress: { class: 'class-one', host: 'host-one.example.com', tls: true },
  },
  aws: { vpc_name: 'vpc-set-1', security_group_name: 'set-1-group', use_internal_ips: false },
  gcp: { vpc_name: 'vpc-gcp-set' },
  node: { port_range: '20000-21000', public_address: 'pub-one.example.com', backend: 'userspace' },
};

/** The port grammar reads inside `resources.ports`, which the schema leaves open: its string fields, listed. */
const PORT_FIELDS: Field[] = [
  { path: ['resources', 'ports', ITEM, 'name'], when: {} },
  { path: ['resources', 'ports', ITEM, 'cidrs', ITEM], when: {} },
];

const renderer = createRenderer();

function filesOf(clusters: Record<string, unknown>, settings: unknown): Record<string, string> {
  return { ...Object.fromEntries(Object.entries(clusters).map(([file, doc]) => [file, stringify(doc)])), 'config.yaml': stringify(settings) };
}

function stateOf(files: Record<string, string>): DesiredState {
  return desiredState(snapshotOf(files), renderer);
}

const baseFiles = filesOf(CLUSTERS, SETTINGS);
const base = stateOf(baseFiles);

/** `value` with every occurrence of `from` (in strings and in keys) replaced by `to`. */
function putBack(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((item) => putBack(item, from, to));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k.split(from).join(to), { value: putBack(v, from, to), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

const resourcesOf = (state: DesiredState, cluster: string): Resource[] => state.resources.filter((r) => r.cluster === cluster);
/** Whether a string or a key somewhere in `value` holds `text`. */
function mentions(value: unknown, text: string): boolean {
  if (typeof value === 'string') return value.includes(text);
  if (Array.isArray(value)) return value.some((item) => mentions(item, text));
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([k, v]) => k.includes(text) || mentions(v, text));
  return false;
}

type Verdict = string;

/**
 * One cluster after an attack. Rejected: it keeps its last good state, and an error in one of `errorFiles`
 * says why. Accepted: its rendered objects, with `original` put back for the payload, are the clean ones
 * (with no `original` — the field held no string — they must be the clean ones as they are).
 */
function judgeCluster(head: DesiredState, name: string, payload: string, original: string | undefined, errorFiles: readonly string[]): Verdict {
  const errors = head.problems.filter((p) => p.severity === 'error');
  if (!head.clusters.some((c) => c.name === name)) {
    assert.ok(withLastGood(base.clusters, head).kept.includes(name), `${name} lost its ports instead of keeping them`);
    const why = errors.filter((p) => errorFiles.includes(p.at.file));
    assert.ok(why.length > 0, `${name} was dropped without an error in ${errorFiles.join(' or ')}: ${errors.map((p) => `${p.at.file}:${p.at.line}: ${p.message}`).join(' | ')}`);
    return `rejected (${[...new Set(why.map((p) => `${p.code} in ${p.at.file === 'config.yaml' ? 'config.yaml' : 'the manifest'}`))].join(', ')})`;
  }
  const rendered = resourcesOf(head, name);
  const clean = resourcesOf(base, name);
  if (original === undefined) assert.deepEqual(rendered, clean, `${name}: the value changed the rendered objects where the baseline has no string to compare with`);
  else assert.deepEqual(putBack(rendered, payload, original), clean, `${name}: with the value put back, the rendered objects differ from the clean ones`);
  return mentions(rendered, payload) ? 'accepted, verbatim in the rendered objects' : 'accepted, not rendered';
}

const summary = (verdicts: Iterable<Verdict>): Verdict => [...new Set(verdicts)].sort().join('; ');

function attackSettings(field: Field, payload: string): Verdict {
  const attacked = replaceAt(SETTINGS, field, payload) ?? replaceAt(SETTINGS, field, payload, { create: true });
  assert.ok(attacked !== undefined, `the baseline settings have no place for ${fieldName(field)}: add one to SETTINGS`);
  const files = filesOf(CLUSTERS, attacked.doc);
  const head = stateOf(files);
  assertLocated(head, files);
  const original = typeof attacked.old === 'string' ? attacked.old : undefined;
  return summary(base.clusters.map((c) => judgeCluster(head, c.name, payload, original, [c.at.file, 'config.yaml'])));
}

/** Every cluster that has the field is attacked in its own file, and judged against its own original value. */
function attackClusters(field: Field, payload: string): Verdict {
  const attacked = new Map(Object.entries(CLUSTERS).map(([file, doc]) => [file, replaceAt(doc, field, payload)]));
  assert.ok([...attacked.values()].some(Boolean), `no baseline cluster has a value at ${fieldName(field)}: add one to CLUSTERS`);
  const files = filesOf(Object.fromEntries(Object.entries(CLUSTERS).map(([file, doc]) => [file, attacked.get(file)?.doc ?? doc])), SETTINGS);
  const head = stateOf(files);
  assertLocated(head, files);
  const verdicts: Verdict[] = [];
  for (const cluster of base.clusters) {
    const replaced = attacked.get(cluster.at.file);
    if (replaced === undefined) {
      // Not attacked (the cluster has no such field): nothing of it may change.
      assert.deepEqual(resourcesOf(head, cluster.name), resourcesOf(base, cluster.name), `${cluster.name} was not attacked, yet its objects changed`);
      continue;
    }
    verdicts.push(judgeCluster(head, cluster.name, payload, typeof replaced.old === 'string' ? replaced.old : undefined, [cluster.at.file]));
  }
  return summary(verdicts);
}

/** Every payload at one field; the verdicts and the count go to the test's diagnostics, failures fail it together. */
function attack(t: TestContext, field: Field, settingsField: boolean): void {
  const tally = new Tally();
  const verdicts = new Map<Verdict, string[]>();
  const failures: string[] = [];
  for (const [label, payload] of Object.entries(PAYLOADS)) {
    tally.tried++;
    try {
      const verdict = settingsField ? attackSettings(field, payload) : attackClusters(field, payload);
      verdicts.set(verdict, [...(verdicts.get(verdict) ?? []), label]);
    } catch (error) {
      tally.failed++;
      failures.push(`${label}: ${(error as Error).message.slice(0, 1500)}`);
    }
  }
  tally.report(t);
  for (const [verdict, labels] of verdicts) t.diagnostic(`${verdict}: ${labels.join(', ')}`);
  assert.deepEqual(failures, [], `${fieldName(field)}: unsafe outcomes`);
}

describe('hostile: injection through every string field', () => {
  it('the baselines load clean, render every cloud, and every field of the schemas is found', () => {
    assert.deepEqual(base.problems, []);
    assert.equal(base.clusters.length, Object.keys(CLUSTERS).length);
    assert.deepEqual(new Set(base.resources.map((r) => r.cloud)), new Set(['kubernetes', 'aws', 'gcp', 'node']));
    const names = stringFields('cluster.schema.json').map(fieldName);
    for (const expected of ['name', 'labels.{key}', 'labels.{*}', 'kubernetes.namespace', 'kubernetes.selector.{key}', 'aws.instance_tags.{*}', 'gcp.network', 'gcp.target_tags.[]', 'node.address']) {
      assert.ok(names.includes(expected), `schema walk finds ${expected}`);
    }
    const settings = stringFields('settings.schema.json').map(fieldName);
    for (const expected of ['kubernetes.ingress.host', 'kubernetes.ingress.class', 'kubernetes.custom_metadata.annotations.{key}', 'private_cidrs.[]', 'admin_policy.[].labels.{*} (name=add-labels)']) {
      assert.ok(settings.includes(expected), `schema walk finds ${expected}`);
    }
  });

  for (const field of [...stringFields('cluster.schema.json'), ...PORT_FIELDS]) {
    it(`cluster manifest field ${fieldName(field)}`, (t) => attack(t, field, false));
  }
  for (const field of stringFields('settings.schema.json')) {
    it(`settings field ${fieldName(field)}`, (t) => attack(t, field, true));
  }
});
