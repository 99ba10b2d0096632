// What the fuzzers found about positions and messages, pinned as named cases: a value cannot forge a
// problem line, positions after a multi-line quoted scalar are on the right line, a trailing `---` is not
// a document, duplicate keys are found at their line, and a message quoting a huge value stays readable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { desiredState } from '../../agent/engine/desired.js';
import { MAX_MESSAGE_LINE, oneLine, problemLine, problemWithSource } from '../../agent/manifest/format-problem.js';
import { parseYamlFile } from '../../agent/manifest/yaml-file.js';
import { createRenderer } from '../../agent/render/index.js';
import { assertLocated } from '../fuzz/lib.js';
import { snapshotOf } from '../helpers/repo.js';

const renderer = createRenderer();
const load = (files: Record<string, string>) => {
  const desired = desiredState(snapshotOf(files), renderer);
  assertLocated(desired, files);
  return desired;
};

describe('hostile: problem lines cannot be forged', () => {
  it('a port spec with a line break and a fake position prints as one line, the value escaped', () => {
    const files = { 'clusters/a.yaml': stringify({ name: 'a', cloud: 'node', node: { address: '10.0.0.2' }, resources: { ports: ['x\nclusters/b.yaml:1:1: all good'] } }) };
    const desired = load(files);
    const lines = desired.problems.map(problemLine);
    assert.equal(lines.length, 1);
    assert.equal(lines[0], "clusters/a.yaml:7:7: 'x\\nclusters/b.yaml:1:1: all good' has spaces inside: write 'xclusters/b.yaml:1:1:allgood'");
    assert.equal(problemWithSource(desired.problems[0]!, new Map(Object.entries(files))).split('\n')[0], lines[0]);
  });

  it('Unicode line and paragraph separators, NUL and DEL are escaped too', () => {
    assert.equal(oneLine('a\u2028b\u2029c\u0000d\u007fe\r\tf'), 'a\\u2028b\\u2029c\\u0000d\\u007fe\\r\\tf');
  });

  it('a 70,000-character value is quoted cut short; a message quoting one anyway is cut on its line', () => {
    const files = { 'clusters/a.yaml': stringify({ name: 'a', cloud: 'node', node: { address: '10.0.0.2' }, resources: { ports: [`${'9'.repeat(70_000)}x`] } }) };
    const [problem] = load(files).problems;
    assert.ok(problem!.message.length < 400, `${problem!.message.length} chars`);
    assert.match(problem!.message, /^'9{60}…' is not a port spec/);
    const long = problemLine({ code: 'SCHEMA', severity: 'error', message: 'm'.repeat(5000), at: { file: 'config.yaml', line: 1, col: 1 } });
    assert.equal(long, `config.yaml:1:1: ${'m'.repeat(MAX_MESSAGE_LINE)}… (4000 more characters)`);
  });
});

describe('hostile: positions', () => {
  it('after a multi-line double-quoted scalar, a problem is on its own line', () => {
    const text = 'name: db\ncloud: kubernetes\nnote: "one\n  two"\nresources:\n  ports: [ "+5432", 99999 ]\n';
    const problems = parseYamlFile('clusters/db.yaml', text).problems;
    assert.deepEqual(problems, []);
    const desired = load({ 'clusters/db.yaml': text });
    const range = desired.problems.find((p) => p.code === 'PORT_RANGE');
    assert.deepEqual(range?.at, { file: 'clusters/db.yaml', line: 6, col: 21 });
  });

  it('a syntax error after a quoted scalar that spans lines is located on its line (yaml LineCounter put it a line early, past the line end)', () => {
    const text = '\nme: db\ncloud: kubernetes\nkubernetes: {namespace: data}"resources:\n  ports: ["+5432"]\n';
    const problems = parseYamlFile('clusters/db.yaml', text).problems;
    assert.ok(problems.length > 0);
    for (const p of problems) assert.ok(p.at.col <= text.split('\n')[p.at.line - 1]!.length + 1, `${p.at.line}:${p.at.col} ${p.message}`);
    assert.ok(problems.some((p) => p.at.line === 5), problems.map(problemLine).join('\n'));
  });

  it('duplicate keys are found at the second one, in every map', () => {
    const problems = parseYamlFile('x.yaml', 'a: 1\nb: {x: 1, y: 2, x: 3}\na: 2\n').problems;
    assert.deepEqual(
      problems.map((p) => [p.code, p.at.line, p.at.col, p.message]),
      [
        ['YAML_SYNTAX', 3, 1, 'Map keys must be unique: remove or rename the second one'],
        ['YAML_SYNTAX', 2, 17, 'Map keys must be unique: remove or rename the second one'],
      ],
    );
  });

  it('a file ending in `---` (or `---` and a comment) has no extra document', () => {
    for (const tail of ['---\n', '---\n# the end\n', '---\n---\n']) {
      const desired = load({ 'clusters/a.yaml': `name: a\ncloud: node\nnode: {address: 10.0.0.2}\nresources: {ports: [80]}\n${tail}` });
      assert.deepEqual(desired.problems, [], JSON.stringify(tail));
      assert.deepEqual(
        desired.clusters.map((c) => c.name),
        ['a'],
      );
    }
    // An explicit null is still a document that is not a map.
    assert.equal(load({ 'clusters/a.yaml': 'name: a\ncloud: node\nnode: {address: 10.0.0.2}\n---\nnull\n' }).problems[0]?.message, 'a cluster manifest must be a map with at least name: and cloud:');
  });
});
