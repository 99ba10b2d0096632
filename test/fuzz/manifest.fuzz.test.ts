import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { desiredState } from '../../agent/engine/desired.js';
import { planBetween, withLastGood } from '../../agent/engine/index.js';
import type { DesiredState, Snapshot } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from '../helpers/repo.js';

// Property-based fuzzing of the pure pipeline: whatever a config repo holds, load → check → render →
// plan either yields a valid desired state or FILE:LINE:COL problems — never a throw, never a hang —
// and a manifest broken by an edit never closes a port. `FUZZ_RUNS` raises the counts for long runs.
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const renderer = createRenderer();

function check(snapshot: Snapshot): DesiredState {
  const desired = desiredState(snapshot, renderer);
  for (const problem of desired.problems) {
    const text = snapshot.files.get(problem.at.file);
    assert.ok(text !== undefined || problem.at.file === 'config.yaml', `problem points at a file that exists: ${problem.at.file}`);
    const lines = (text ?? '').split('\n').length;
    assert.ok(problem.at.line >= 1 && problem.at.line <= lines + 1, `line ${problem.at.line} within ${problem.at.file} (${lines} lines): ${problem.message}`);
    assert.ok(problem.at.col >= 1, `col ${problem.at.col} >= 1`);
    assert.ok(problem.message.length > 0 && !/\bat .*\.ts:\d+/.test(problem.message), `a message, not a stack: ${problem.message}`);
  }
  for (const cluster of desired.clusters) {
    for (const spec of cluster.ports) assert.ok(spec.from >= 1 && spec.to <= 65535 && spec.from <= spec.to, `normalised port ${spec.from}-${spec.to}`);
  }
  return desired;
}

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const anyScalar = fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.double({ noNaN: false }));
const portEntry = fc.oneof(
  fc.integer({ min: -1, max: 66000 }),
  fc.tuple(fc.integer({ min: 0, max: 66000 }), fc.integer({ min: 0, max: 66000 })).map(([a, b]) => `${a}-${b}`),
  fc.tuple(fc.constantFrom('', '+'), fc.option(word), fc.constantFrom('', 'tcp:', 'udp:', 'sctp:', 'TCP:'), fc.integer({ min: 0, max: 66000 })).map(([plus, name, proto, port]) => `${plus}${name ? `${name}:` : ''}${proto}${port}`),
  fc.record({ port: fc.oneof(fc.integer({ min: 0, max: 66000 }), fc.string({ maxLength: 8 })), protocol: fc.constantFrom('tcp', 'udp', 'icmp'), public: fc.boolean(), cidrs: fc.array(fc.oneof(fc.ipV4().map((ip) => `${ip}/${ip.endsWith('.0') ? 24 : 32}`), fc.string({ maxLength: 10 })), { maxLength: 3 }) }, { requiredKeys: [] }),
  anyScalar,
);
const manifest = fc.record(
  {
    name: fc.oneof(word, fc.string({ maxLength: 70 })),
    cloud: fc.constantFrom('node', 'kubernetes', 'aws', 'gcp', 'azure'),
    node: fc.record({ address: fc.oneof(fc.ipV4(), fc.string({ maxLength: 10 })) }),
    kubernetes: fc.record({ namespace: fc.oneof(word, fc.string({ maxLength: 8 })), ports: fc.constantFrom('loadbalancer', 'ingress', 'podip', 'nodeport') }, { requiredKeys: [] }),
    aws: fc.record({ region: fc.constantFrom('us-east-1', 'mars-1'), instance_ids: fc.array(fc.constantFrom('i-0123456789abcdef0', 'i-nope'), { maxLength: 2 }) }, { requiredKeys: [] }),
    gcp: fc.record({ project: fc.constantFrom('my-project-1', 'X'), target_tags: fc.array(word, { maxLength: 2 }) }, { requiredKeys: [] }),
    resources: fc.record({ ports: fc.oneof(portEntry, fc.array(portEntry, { maxLength: 6 })) }, { requiredKeys: [] }),
    extra: anyScalar,
  },
  { requiredKeys: ['name', 'cloud'] },
);

describe('fuzz: the pure pipeline never crashes, and problems always point into the files', () => {
  it(`structured manifests with hostile values (${RUNS} repos)`, () => {
    fc.assert(
      fc.property(fc.array(manifest, { minLength: 1, maxLength: 4 }), fc.option(fc.record({ kubernetes: fc.record({ ports: fc.constantFrom('ingress', 'podip', 'x') }, { requiredKeys: [] }), private_cidrs: fc.array(fc.string({ maxLength: 12 }), { maxLength: 2 }) }, { requiredKeys: [] })), (docs, settings) => {
        const files: Record<string, string> = { 'clusters/a.yaml': docs.map((d) => stringify(d)).join('---\n') };
        if (settings) files['config.yaml'] = stringify(settings);
        check(snapshotOf(files));
      }),
      { numRuns: RUNS },
    );
  });

  it(`arbitrary text as manifests and settings (${RUNS} repos)`, () => {
    const yamlish = fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&', '*', '!', '"', "'", '#', '|', '>', '1', 'name', 'ports', '\t', '%', '@', '`'), maxLength: 200 });
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 80 })), fc.option(yamlish), (text, settings) => {
        const files: Record<string, string> = { 'clusters/x.yaml': text };
        if (settings !== null) files['config.yaml'] = settings;
        check(snapshotOf(files));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: an edit that breaks a manifest never closes a port', () => {
  const base = snapshotOf(
    {
      'clusters/web.yaml': 'name: web\ncloud: node\nnode: {address: 10.0.0.2}\nresources:\n  ports: [80, "+tcp:443", "10020-10040"]\n',
      'clusters/db.yaml': 'name: db\ncloud: kubernetes\nkubernetes: {namespace: data}\nresources:\n  ports: ["+5432"]\n',
      'clusters/etc.yaml': 'name: etc\ncloud: aws\naws: {region: us-east-1, instance_tags: {Name: etc}}\nresources:\n  ports:\n    - {port: 2379, cidrs: [10.0.0.0/8]}\n---\nname: ntp\ncloud: gcp\ngcp: {project: my-project-1}\nresources:\n  ports: ["udp:123"]\n',
    },
    'base',
  );
  const baseState = desiredState(base, renderer);

  it(`random corruption of one file (${RUNS * 2} edits)`, () => {
    assert.deepEqual(baseState.problems, []);
    const file = fc.constantFrom(...[...base.files.keys()]);
    const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 6 }), insert: fc.string({ maxLength: 6 }) });
    fc.assert(
      fc.property(file, fc.array(edit, { minLength: 1, maxLength: 3 }), (path, edits) => {
        let text = base.files.get(path)!;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
        }
        const head = check(snapshotOf({ ...Object.fromEntries(base.files), [path]: text }, 'head'));
        const { clusters } = withLastGood(baseState.clusters, head);
        const plan = planBetween(baseState, { revision: 'head', clusters });
        const broken = head.problems.some((p) => p.severity === 'error' && p.at.file === path);
        const inFile = new Set(baseState.clusters.filter((c) => c.at.file === path).map((c) => c.name));
        if (broken) {
          // A document of the file that still loads may change its own ports; the others keep theirs.
          const loaded = new Set(head.clusters.map((c) => c.name));
          const closed = plan.changes.filter((c) => c.action === 'close' && inFile.has(c.cluster) && !loaded.has(c.cluster));
          assert.deepEqual(closed, [], `a broken ${path} closed ports:\n${text}`);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
