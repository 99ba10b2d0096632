// Inputs built to exhaust: alias bombs, huge files, many documents, deep nesting, very long lines, many
// keys. Each runs through the pipeline in a worker bounded in time (CASE_BOUND_MS) and heap (HEAP_MB), and
// must end in a located error (or, for harmless shapes, a clean load), never a crash, a hang or an OOM.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import type { Problem } from '../../agent/model.js';
import { MAX_DOCUMENTS } from '../../agent/manifest/yaml-file.js';
import { readDirectory } from '../../agent/source/snapshot.js';
import { locateGit, readRevision } from '../../agent/source/git-revision.js';
import { assertHealthy, Tally } from '../fuzz/lib.js';
import { PipelineRunner } from '../fuzz/runner.js';
import { TempGitRepo } from '../helpers/repo.js';

const runner = new PipelineRunner();
after(() => runner.close());

const NODE = 'name: web\ncloud: node\nnode: {address: 10.0.0.2}\n';

/** Nine aliases per level, eight levels: 9^8 = 43 million strings if expanded. */
function billionLaughs(): string {
  const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let level = 1; level < 8; level++) {
    const prev = String.fromCharCode(96 + level);
    const name = String.fromCharCode(97 + level);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

interface Expect {
  code: Problem['code'];
  /** Part of the message. */
  says: RegExp;
  file?: string;
  line?: number;
}

/** Runs the files through the bounded pipeline; returns the problems after checking they are located and expected. */
async function expectLocated(t: TestContext, files: Record<string, string>, expected: Expect): Promise<Problem[]> {
  const tally = new Tally();
  tally.tried++;
  try {
    const outcome = await runner.run(files);
    tally.time(outcome.ms);
    const desired = assertHealthy(outcome, files);
    const file = expected.file ?? 'clusters/bomb.yaml';
    const hit = desired.problems.find((p) => p.code === expected.code && p.at.file === file && expected.says.test(p.message));
    assert.ok(hit, `a ${expected.code} problem in ${file} matching ${expected.says}; got: ${desired.problems.slice(0, 3).map((p) => `${p.code} ${p.at.file}:${p.at.line}:${p.at.col} ${p.message.slice(0, 200)}`).join(' | ')}`);
    if (expected.line !== undefined) assert.equal(hit.at.line, expected.line);
    assert.ok(!desired.clusters.some((c) => c.at.file === file), 'nothing of the file is used');
    return desired.problems;
  } catch (error) {
    tally.failed++;
    throw error;
  } finally {
    tally.report(t);
  }
}

describe('hostile: alias bombs', () => {
  it('billion laughs in a manifest is a located YAML error, not 43 million strings', async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': NODE + billionLaughs() }, { code: 'YAML_SYNTAX', says: /too many YAML aliases/, line: 1 });
  });

  it('billion laughs in config.yaml: the settings fail, every cluster is unsure', async (t) => {
    const files = { 'config.yaml': billionLaughs(), 'clusters/web.yaml': `${NODE}resources: {ports: [80]}\n` };
    await expectLocated(t, files, { code: 'YAML_SYNTAX', says: /too many YAML aliases/, file: 'config.yaml' });
    const outcome = await runner.run(files);
    assert.equal(outcome.kind === 'ok' && outcome.desired.settingsOk, false);
  });

  it('a quadratic alias blow-up inside an allowed field (resources.ports) is refused the same way', async (t) => {
    const text = `${NODE}x: &x [80, 81, 82, 83, 84, 85, 86, 87, 88, 89]\ny: &y [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\nz: &z [*y, *y, *y, *y, *y, *y, *y, *y, *y, *y]\nresources: {ports: [*z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z, *z]}\n`;
    await expectLocated(t, { 'clusters/bomb.yaml': text }, { code: 'YAML_SYNTAX', says: /too many YAML aliases/ });
  });
});

describe('hostile: huge files', () => {
  const FIFTY_MB = 50 * 1024 * 1024;
  const huge = `${NODE}resources:\n  ports: [80]\n# ${'x'.repeat(FIFTY_MB)}\n`;

  it('a 50 MB manifest in a directory repo is refused from its size, without reading it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-huge-'));
    const tally = new Tally();
    try {
      mkdirSync(join(dir, 'clusters'));
      writeFileSync(join(dir, 'clusters', 'huge.yaml'), huge);
      writeFileSync(join(dir, 'clusters', 'ok.yaml'), 'name: ok\ncloud: node\nnode: {address: 10.0.0.3}\n');
      tally.tried++;
      const heapBefore = process.memoryUsage().heapUsed;
      const started = performance.now();
      const snapshot = await readDirectory(dir);
      tally.time(performance.now() - started);
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 20 * 1024 * 1024, 'the file was not read into memory');
      assert.deepEqual(
        snapshot.problems.map((p) => [p.code, p.at.file, p.at.line, p.at.col]),
        [['FILE_TOO_LARGE', 'clusters/huge.yaml', 1, 1]],
      );
      assert.match(snapshot.problems[0]!.message, /split it into several files/);
      assert.deepEqual([...snapshot.files.keys()], ['clusters/ok.yaml']);
    } finally {
      tally.report(t);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 50 MB manifest committed to git is refused from the tree listing, without reading the blob', async (t) => {
    const repo = new TempGitRepo();
    const tally = new Tally();
    try {
      repo.commit('huge', { 'clusters/huge.yaml': huge, 'clusters/ok.yaml': 'name: ok\ncloud: node\nnode: {address: 10.0.0.3}\n' });
      tally.tried++;
      const loc = await locateGit(repo.dir);
      const started = performance.now();
      const snapshot = await readRevision(loc!, 'HEAD');
      tally.time(performance.now() - started);
      assert.deepEqual(
        snapshot.problems.map((p) => [p.code, p.at.file, p.at.line, p.at.col]),
        [['FILE_TOO_LARGE', 'clusters/huge.yaml', 1, 1]],
      );
      assert.deepEqual([...snapshot.files.keys()], ['clusters/ok.yaml']);
    } finally {
      tally.report(t);
      repo.remove();
    }
  });

  it('a 50 MB text handed to the loader directly (a test, the admin --config) is refused before parsing', async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': huge }, { code: 'FILE_TOO_LARGE', says: /more than the 1048576 a manifest or settings file may have/, line: 1 });
  });
});

describe('hostile: many documents', () => {
  it('100,000 empty documents: refused at the `---` that starts document 10,001, before parsing', async (t) => {
    const files = { 'clusters/bomb.yaml': '---\n'.repeat(100_000), 'clusters/web.yaml': `${NODE}resources: {ports: [80]}\n` };
    const problems = await expectLocated(t, files, { code: 'YAML_SYNTAX', says: /more than 10000 YAML documents/, line: MAX_DOCUMENTS + 1 });
    assert.equal(problems.length, 1);
  });

  it('100,000 documents that are not maps: one located error, not 100,000', async (t) => {
    const problems = await expectLocated(t, { 'clusters/bomb.yaml': '- x\n---\n'.repeat(100_000) }, { code: 'YAML_SYNTAX', says: /more than 10000 YAML documents/, line: 2 * MAX_DOCUMENTS });
    assert.equal(problems.length, 1);
  });

  it(`${MAX_DOCUMENTS} documents are still read, each checked`, async (t) => {
    const problems = await expectLocated(t, { 'clusters/bomb.yaml': '- x\n---\n'.repeat(MAX_DOCUMENTS - 1) + '- x\n' }, { code: 'SCHEMA', says: /must be a map/, line: 1 });
    assert.equal(problems.length, MAX_DOCUMENTS);
    assert.deepEqual(
      problems.slice(0, 3).map((p) => p.at.line),
      [1, 3, 5],
    );
  });
});

describe('hostile: deep nesting', () => {
  const DEPTH = 10_000;
  it(`${DEPTH} nested flow lists`, async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}\n` }, { code: 'YAML_SYNTAX', says: /nests too deeply/, line: 1 });
  });

  it(`${DEPTH} nested flow maps`, async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': `${'{a: '.repeat(DEPTH)}1${'}'.repeat(DEPTH)}\n` }, { code: 'YAML_SYNTAX', says: /nests too deeply/, line: 1 });
  });

  it(`${DEPTH} nested block lists (- - - …)`, async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': `${'- '.repeat(DEPTH)}x\n` }, { code: 'YAML_SYNTAX', says: /nests too deeply/, line: 1 });
  });

  it('1,400 nested block maps (as deep as indentation allows in 1 MiB) read, and fail the schema at their first key', async (t) => {
    let text = '';
    for (let i = 0; i < 1400; i++) text += `${' '.repeat(i)}a:\n`;
    await expectLocated(t, { 'clusters/bomb.yaml': text }, { code: 'UNKNOWN_KEY', says: /unknown key 'a'/, line: 1 });
  });

  for (const depth of [100, 1000, 3000]) {
    it(`nesting ${depth} deep inside a field the schema leaves open (resources.ports) is a located port error`, async (t) => {
      const text = `${NODE}resources:\n  ports: ${'['.repeat(depth)}80${']'.repeat(depth)}\n`;
      await expectLocated(t, { 'clusters/bomb.yaml': text }, { code: 'PORT_SYNTAX', says: /a list inside the ports list/, line: 5 });
    });
  }

  it('nesting 1000 deep in an admin policy entry of config.yaml', async (t) => {
    const files = { 'config.yaml': `admin_policy:\n  - {name: max-ports, max: 5, extra: ${'['.repeat(1000)}1${']'.repeat(1000)}}\n`, 'clusters/web.yaml': `${NODE}resources: {ports: [80]}\n` };
    await expectLocated(t, files, { code: 'UNKNOWN_KEY', says: /unknown key 'extra'/, file: 'config.yaml', line: 2 });
  });
});

describe('hostile: long lines and many keys', () => {
  it('a name of a million characters', async (t) => {
    const text = `name: ${'a'.repeat(1_000_000)}\ncloud: node\nnode: {address: 10.0.0.2}\n`;
    const problems = await expectLocated(t, { 'clusters/bomb.yaml': text }, { code: 'SCHEMA', says: /'name' must NOT have more than 63 characters/, line: 1 });
    assert.ok(problems.every((p) => p.message.length < 1000), 'the value is not repeated in the message');
  });

  it('a port spec string of 900,000 digits', async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': `${NODE}resources: {ports: "${'8'.repeat(900_000)}"}\n` }, { code: 'PORT_RANGE', says: /out of range/, line: 4 });
  });

  it('a flow list of 20,000 port specs on one line, each a port name too long', async (t) => {
    const text = `${NODE}resources: {ports: [${Array.from({ length: 20_000 }, (_, i) => `"n${'x'.repeat(16)}:${(i % 65535) + 1}"`).join(',')}]}\n`;
    const problems = await expectLocated(t, { 'clusters/bomb.yaml': text }, { code: 'PORT_SYNTAX', says: /is not a port name/, line: 4 });
    assert.equal(problems.length, 20_000);
  });

  it('an implicit key of more than 1024 characters', async (t) => {
    await expectLocated(t, { 'clusters/bomb.yaml': `${'k'.repeat(5000)}: 1\n` }, { code: 'YAML_SYNTAX', says: /at most 1024 chars/, line: 1 });
  });

  it('50,000 labels, the last a duplicate key: found at its line, in linear time', async (t) => {
    const labels = Array.from({ length: 50_000 }, (_, i) => `  k${i}: v\n`).join('');
    await expectLocated(t, { 'clusters/bomb.yaml': `${NODE}labels:\n${labels}  k7: again\n` }, { code: 'YAML_SYNTAX', says: /Map keys must be unique/, line: 50_005 });
  });
});
