import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { desiredState } from '../../agent/engine/desired.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from '../helpers/repo.js';
import { anyScalar, anyText, applyEdits, assertHealthy, assertLocated, edits, fcOptions, hostileString, planAfter, RUNS, Tally, word, yamlish } from './lib.js';
import { PipelineRunner } from './runner.js';

// Property-based fuzzing of the pure pipeline over cluster manifests: whatever a config repo holds,
// load → check → render yields a desired state or FILE:LINE:COL problems — never a throw, never a hang
// (each case runs in a worker with a time and heap bound) — and a manifest broken by an edit never
// closes a port. `FUZZ_RUNS` raises the counts for long runs.
const runner = new PipelineRunner();
after(() => runner.close());

const portEntry = fc.oneof(
  fc.integer({ min: -1, max: 66000 }),
  fc.tuple(fc.integer({ min: 0, max: 66000 }), fc.integer({ min: 0, max: 66000 })).map(([a, b]) => `${a}-${b}`),
  fc.tuple(fc.constantFrom('', '+'), fc.option(fc.oneof(word, hostileString)), fc.constantFrom('', 'tcp:', 'udp:', 'sctp:', 'TCP:'), fc.integer({ min: 0, max: 66000 })).map(([plus, name, proto, port]) => `${plus}${name ? `${name}:` : ''}${proto}${port}`),
  fc.record({ port: fc.oneof(fc.integer({ min: 0, max: 66000 }), fc.string({ maxLength: 8 })), name: hostileString, protocol: fc.constantFrom('tcp', 'udp', 'icmp'), public: fc.boolean(), cidrs: fc.array(fc.oneof(fc.ipV4().map((ip) => `${ip}/${ip.endsWith('.0') ? 24 : 32}`), hostileString), { maxLength: 3 }) }, { requiredKeys: [] }),
  anyScalar,
);
const labels = fc.dictionary(fc.oneof(word, hostileString), fc.oneof(word, hostileString), { maxKeys: 3 });
const manifest = fc.record(
  {
    name: fc.oneof(word, fc.string({ maxLength: 70 }), hostileString),
    cloud: fc.constantFrom('node', 'kubernetes', 'aws', 'gcp', 'azure'),
    labels,
    node: fc.record({ address: fc.oneof(fc.ipV4(), fc.string({ maxLength: 10 }), hostileString) }),
    kubernetes: fc.record({ context: hostileString, namespace: fc.oneof(word, fc.string({ maxLength: 8 })), selector: labels, ports: fc.constantFrom('loadbalancer', 'ingress', 'podip', 'nodeport') }, { requiredKeys: [] }),
    aws: fc.record({ region: fc.constantFrom('us-east-1', 'mars-1'), vpc: hostileString, security_group: hostileString, instance_ids: fc.array(fc.constantFrom('i-0123456789abcdef0', 'i-nope'), { maxLength: 2 }), instance_tags: labels }, { requiredKeys: [] }),
    gcp: fc.record({ project: fc.constantFrom('my-project-1', 'X'), network: fc.oneof(word, hostileString), target_tags: fc.array(fc.oneof(word, hostileString), { maxLength: 2 }) }, { requiredKeys: [] }),
    resources: fc.record({ ports: fc.oneof(portEntry, fc.array(portEntry, { maxLength: 6 })) }, { requiredKeys: [] }),
    extra: anyScalar,
  },
  { requiredKeys: ['name', 'cloud'] },
);

describe('fuzz: the pure pipeline never crashes, and problems always point into the files', () => {
  it(`structured manifests with hostile values (${RUNS} repos)`, async (t) => {
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(manifest, { minLength: 1, maxLength: 4 }),
          fc.option(fc.record({ kubernetes: fc.record({ ports: fc.constantFrom('ingress', 'podip', 'x') }, { requiredKeys: [] }), private_cidrs: fc.array(fc.string({ maxLength: 12 }), { maxLength: 2 }) }, { requiredKeys: [] })),
          tally.count(async (docs, settings) => {
            const files: Record<string, string> = { 'clusters/a.yaml': docs.map((d) => stringify(d)).join('---\n') };
            if (settings) files['config.yaml'] = stringify(settings);
            const outcome = await runner.run(files);
            tally.time(outcome.ms);
            assertHealthy(outcome, files);
          }),
        ),
        fcOptions(),
      );
    } finally {
      tally.report(t);
    }
  });

  it(`arbitrary text as manifests and settings (${RUNS} repos)`, async (t) => {
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          anyText,
          fc.option(yamlish),
          tally.count(async (text, settings) => {
            const files: Record<string, string> = { 'clusters/x.yaml': text };
            if (settings !== null) files['config.yaml'] = settings;
            const outcome = await runner.run(files);
            tally.time(outcome.ms);
            assertHealthy(outcome, files);
          }),
        ),
        fcOptions(),
      );
    } finally {
      tally.report(t);
    }
  });
});

describe('fuzz: an edit that breaks a manifest never closes a port', () => {
  const baseFiles: Record<string, string> = {
    'clusters/web.yaml': 'name: web\ncloud: node\nnode: {address: 10.0.0.2}\nresources:\n  ports: [80, "+tcp:443", "10020-10040"]\n',
    'clusters/db.yaml': 'name: db\ncloud: kubernetes\nkubernetes: {namespace: data}\nresources:\n  ports: ["+5432"]\n',
    'clusters/etc.yaml': 'name: etc\ncloud: aws\naws: {region: us-east-1, instance_tags: {Name: etc}}\nresources:\n  ports:\n    - {port: 2379, cidrs: [10.0.0.0/8]}\n---\nname: ntp\ncloud: gcp\ngcp: {project: my-project-1}\nresources:\n  ports: ["udp:123"]\n',
  };
  const baseState = desiredState(snapshotOf(baseFiles, 'base'), createRenderer());

  it(`random corruption of one file (${RUNS * 2} edits)`, async (t) => {
    assert.deepEqual(baseState.problems, []);
    assertLocated(baseState, baseFiles);
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(baseFiles)),
          edits,
          tally.count(async (path, list) => {
            const files = { ...baseFiles, [path]: applyEdits(baseFiles[path]!, list) };
            const outcome = await runner.run(files);
            tally.time(outcome.ms);
            const head = assertHealthy(outcome, files);
            const plan = planAfter(baseState, head);
            if (head.problems.some((p) => p.severity === 'error' && p.at.file === path)) {
              // A document of the file that still loads may change its own ports; the others keep theirs.
              const loaded = new Set(head.clusters.map((c) => c.name));
              const inFile = new Set(baseState.clusters.filter((c) => c.at.file === path).map((c) => c.name));
              const closed = plan.changes.filter((c) => c.action === 'close' && inFile.has(c.cluster) && !loaded.has(c.cluster));
              assert.deepEqual(closed, [], `a broken ${path} closed ports:\n${files[path]}`);
            }
          }),
        ),
        fcOptions(RUNS * 2),
      );
    } finally {
      tally.report(t);
    }
  });
});
