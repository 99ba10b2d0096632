import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { desiredState } from '../../agent/engine/desired.js';
import type { DesiredState } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { snapshotOf } from '../helpers/repo.js';
import { anyText, applyEdits, assertHealthy, assertLocated, edits, fcOptions, hostileString, hostileValue, planAfter, RUNS, Tally } from './lib.js';
import { PipelineRunner } from './runner.js';

// Property-based fuzzing of the settings: the repo's config.yaml and the admin's --config FILE, every key
// with hostile values, arbitrary text and random corruption, alone and next to valid manifests. Whatever
// they hold, the pipeline answers with a desired state or FILE:LINE:COL problems (never a crash, never a
// hang), and a settings file with an error keeps every cluster exactly as it was: settings shape every
// cluster, so acting on half-read settings could close anything.
const runner = new PipelineRunner();
after(() => runner.close());

const ADMIN_FILE = '/etc/portcullis/admin.yaml';

const MANIFESTS: Record<string, string> = {
  'clusters/web.yaml': 'name: web\ncloud: node\nnode: {address: 10.0.0.2}\nresources:\n  ports: [80, "+tcp:443", "10020-10040"]\n',
  'clusters/db.yaml': 'name: db\ncloud: kubernetes\nkubernetes: {namespace: data, context: prod}\nresources:\n  ports: ["+5432"]\n',
  'clusters/etc.yaml': 'name: etc\ncloud: aws\naws: {region: us-east-1, instance_tags: {Name: etc}}\nresources:\n  ports:\n    - {port: 2379, cidrs: [10.0.0.0/8]}\n---\nname: ntp\ncloud: gcp\ngcp: {project: my-project-1}\nresources:\n  ports: ["udp:123"]\n',
};

/** Settings that use every key, all valid: the base revision of the corruption property. */
const FULL_SETTINGS = `allowed_clouds: [kubernetes, aws, gcp, node]
private_cidrs: [10.0.0.0/8, 192.168.0.0/16]
kubernetes:
  ports: loadbalancer
  custom_metadata:
    labels: {team: net}
    annotations: {owner: "net@example.com"}
  allowed_contexts: [prod]
  ingress: {class: nginx, host: apps.example.com, tls: true}
aws: {vpc_name: main, security_group_name: shared, use_internal_ips: false}
gcp: {vpc_name: default}
node: {port_range: 20000-21000, public_address: 203.0.113.7, backend: userspace}
guard: {max_close_share: 0.5, allow_mass_close: false}
admin_policy:
  - {name: max-ports, max: 10000}
  - {name: add-labels, labels: {cost-center: net}, mode: warn}
`;

// Hostile one time in seven per key, so that many cases still load and reach policies and templates.
const either = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: hostileValue });
type Either = <T>(good: fc.Arbitrary<T>) => fc.Arbitrary<unknown>;
const valid = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => good;
/** A DNS label: valid wherever settings want a name. */
const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
const cidr = fc.oneof(fc.ipV4().map((ip) => `${ip.replace(/\.\d+$/, '.0')}/24`), fc.constantFrom('10.0.0.0/8', '::/0', '2001:db8::/32'));
const labelMap = fc.dictionary(label, label, { maxKeys: 3 });
const policyEntryOf = (either: Either) =>
  fc.oneof(
  fc.constantFrom('deny-public-ports', 'max-ports'),
  fc.record({ name: fc.constant('max-ports'), max: fc.integer({ min: 1, max: 20 }), mode: fc.constantFrom('enforce', 'warn', 'audit') }, { requiredKeys: ['name'] }),
  fc.record({ name: fc.constant('add-labels'), labels: fc.dictionary(label, label, { minKeys: 1, maxKeys: 2 }), mode: fc.constantFrom('enforce', 'warn') }, { requiredKeys: ['name', 'labels'] }),
  fc.record({ name: fc.constant('require-public-cidrs'), cidrs: fc.array(cidr, { minLength: 1, maxLength: 2 }), narrow: fc.boolean() }, { requiredKeys: ['name', 'cidrs'] }),
  fc.record({ name: fc.constant('allowed-clouds'), clouds: fc.uniqueArray(fc.constantFrom('kubernetes', 'aws', 'gcp', 'node'), { minLength: 1 }) }, { requiredKeys: ['name'] }),
);

/** Every settings key, each either a valid value or, through `either`, a hostile one (of any shape). */
const settingsOf = (either: Either) =>
  fc.record(
  {
    allowed_clouds: either(fc.uniqueArray(fc.constantFrom('kubernetes', 'aws', 'gcp', 'node'), { minLength: 1 })),
    admin_policy: either(fc.oneof(fc.constantFrom('deny-public-ports', 'max-ports'), fc.array(either(policyEntryOf(either)), { maxLength: 3 }))),
    private_cidrs: either(fc.array(either(cidr), { minLength: 1, maxLength: 3 })),
    kubernetes: either(
      fc.record(
        {
          ports: either(fc.constantFrom('loadbalancer', 'ingress', 'podip')),
          custom_metadata: either(fc.record({ labels: either(labelMap), annotations: either(fc.dictionary(label, hostileString, { maxKeys: 3 })) }, { requiredKeys: [] })),
          allowed_contexts: either(fc.constantFrom(['prod'], ['prod', 'dev'])),
          ingress: either(fc.record({ class: either(label), host: either(fc.domain()), tls: either(fc.boolean()) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    ),
    aws: either(fc.record({ vpc_name: either(label), security_group_name: either(label), use_internal_ips: either(fc.boolean()) }, { requiredKeys: [] })),
    gcp: either(fc.record({ vpc_name: either(label) }, { requiredKeys: [] })),
    node: either(
      fc.record(
        {
          port_range: either(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`)),
          public_address: either(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain())),
          backend: either(fc.constantFrom('auto', 'nftables', 'userspace')),
        },
        { requiredKeys: [] },
      ),
    ),
    guard: either(fc.record({ max_close_share: either(fc.double({ min: 0, max: 1, noNaN: true })), allow_mass_close: either(fc.boolean()) }, { requiredKeys: [] })),
    unknown: either(fc.constant(undefined)),
  },
  { requiredKeys: [] },
);

const settings = settingsOf(either);
const validSettings = settingsOf(valid);

const renderer = createRenderer();
const baseState = desiredState(snapshotOf({ ...MANIFESTS, 'config.yaml': FULL_SETTINGS }, 'base'), renderer);

/**
 * What a settings edit may do to the base: a file with an error changes nothing at all (every cluster keeps
 * its last good state, so the plan is empty); valid settings may change how ports are opened, never close one.
 */
function assertSafeAfterSettingsEdit(head: DesiredState, settingsFiles: readonly string[]): void {
  const plan = planAfter(baseState, head);
  if (!head.settingsOk) {
    assert.ok(
      head.problems.some((p) => p.severity === 'error' && settingsFiles.includes(p.at.file)),
      `settings not ok, so a settings file has a located error: ${head.problems.map((p) => `${p.at.file}:${p.at.line}: ${p.message}`).join('; ')}`,
    );
    assert.deepEqual(plan.changes, [], 'a broken settings file changed ports');
  } else {
    const closed = plan.changes.filter((c) => c.action === 'close');
    assert.deepEqual(closed, [], 'a settings edit closed ports');
  }
}

async function runCase(tally: Tally, files: Record<string, string>, admin?: string): Promise<DesiredState> {
  const adminSettings = admin === undefined ? undefined : { file: ADMIN_FILE, text: admin };
  const outcome = await runner.run(files, adminSettings);
  tally.time(outcome.ms);
  return assertHealthy(outcome, admin === undefined ? files : { ...files, [ADMIN_FILE]: admin });
}

describe('fuzz: settings never crash the pipeline, and their problems point into the file', () => {
  it('the base settings use every key and load clean', () => {
    assert.deepEqual(baseState.problems, []);
    assert.equal(baseState.clusters.length, 4);
    assertLocated(baseState, { ...MANIFESTS, 'config.yaml': FULL_SETTINGS });
  });

  it(`structured config.yaml with hostile values, alone (${RUNS} repos)`, async (t) => {
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          settings,
          tally.count(async (value) => {
            await runCase(tally, { 'config.yaml': stringify(value) });
          }),
        ),
        fcOptions(),
      );
    } finally {
      tally.report(t);
    }
  });

  /** Each generated value as config.yaml beside valid manifests: whatever it is, no port may close. Returns how many loaded. */
  async function settingsBesideManifests(t: TestContext, generator: fc.Arbitrary<unknown>): Promise<{ loaded: number; tried: number }> {
    const tally = new Tally();
    let loaded = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          generator,
          tally.count(async (value) => {
            const head = await runCase(tally, { ...MANIFESTS, 'config.yaml': stringify(value) });
            if (head.settingsOk) loaded++;
            assertSafeAfterSettingsEdit(head, ['config.yaml']);
          }),
        ),
        fcOptions(),
      );
    } finally {
      tally.report(t);
      t.diagnostic(`${loaded} of them loaded as valid settings`);
    }
    return { loaded, tried: tally.tried };
  }

  it(`structured config.yaml with hostile values, next to valid manifests: broken settings change nothing (${RUNS} repos)`, async (t) => {
    await settingsBesideManifests(t, settings);
  });

  it(`valid settings of every key, next to valid manifests: they load, and never close a port (${RUNS} repos)`, async (t) => {
    const { loaded, tried } = await settingsBesideManifests(t, validSettings);
    // The generator is meant to make valid settings: if most fail, it tests the error path only.
    assert.ok(loaded >= tried * 0.9, `${loaded} of ${tried} valid settings loaded`);
  });

  it(`arbitrary text as config.yaml and as the admin's --config file (${RUNS} repos)`, async (t) => {
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          anyText,
          fc.option(anyText),
          fc.boolean(),
          tally.count(async (text, admin, withManifests) => {
            const head = await runCase(tally, { ...(withManifests ? MANIFESTS : {}), 'config.yaml': text }, admin ?? undefined);
            if (withManifests && admin === null) assertSafeAfterSettingsEdit(head, ['config.yaml']);
          }),
        ),
        fcOptions(),
      );
    } finally {
      tally.report(t);
    }
  });
});

describe('fuzz: an edit that breaks the settings keeps every port as it was', () => {
  it(`random corruption of a config.yaml that uses every key (${RUNS * 2} edits)`, async (t) => {
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          edits,
          tally.count(async (list) => {
            const head = await runCase(tally, { ...MANIFESTS, 'config.yaml': applyEdits(FULL_SETTINGS, list) });
            assertSafeAfterSettingsEdit(head, ['config.yaml']);
          }),
        ),
        fcOptions(RUNS * 2),
      );
    } finally {
      tally.report(t);
    }
  });

  it(`random corruption of the admin's --config file, the repo's config.yaml valid (${RUNS} edits)`, async (t) => {
    const tally = new Tally();
    try {
      await fc.assert(
        fc.asyncProperty(
          edits,
          tally.count(async (list) => {
            const head = await runCase(tally, { ...MANIFESTS, 'config.yaml': FULL_SETTINGS }, applyEdits(FULL_SETTINGS, list));
            assertSafeAfterSettingsEdit(head, ['config.yaml', ADMIN_FILE]);
          }),
        ),
        fcOptions(),
      );
    } finally {
      tally.report(t);
    }
  });
});
