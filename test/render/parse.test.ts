import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseFull, parseRendered, parseSimple } from '../../agent/render/parse.js';
import { q } from '../../agent/render/filters.js';

/** What the yaml library makes of the text: the reference the simple reader must agree with. */
function reference(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((doc) => {
      assert.deepEqual(doc.errors, [], text);
      return doc.toJS() as unknown;
    })
    .filter((data) => data !== null && data !== undefined);
}

const simpleKind = [
  'a: 1\n',
  'apiVersion: v1\nkind: Service\nmetadata:\n  name: "x"\n  labels: {"a":"b","c: d":"e\\nf"}\n',
  'list:\n  - "a"\n  - 2\n  - {"k": [1, 2, null]}\n',
  'compact:\n- name: "a"\n  port: 1\n- name: "b"\n  port: 2\nafter: true\n',
  'deep:\n    - name: "a"\n      inner:\n        - x: 1\n          y: [1]\n    -   name: "wide"\n        z: false\n',
  '---\na: 1\n---\n# only a comment\n---\nb: "two"\n',
  'a: null\nb:\nc: -12\nd: v1\ne: networking.k8s.io/v1\nf: /path/x\n',
  '"quoted key": 1\n"with \\" escape": 2\n',
  'a: "# not a comment"\nb: "x: y"\n',
  '  indented: 1\n  doc: 2\n',
  'a: "π ünïcödé 🙂"\n',
  `a: ${q('\u0085 and \u2028')}\n`,
];

const otherKind = [
  'a: &x 1\nb: *x\n',
  'a: |\n  block\n  scalar\n',
  "a: 'single'\n",
  'a: two words\n',
  'a: 1.5\n',
  'a: 0x1f\n',
  'a: True\n',
  'a: ~\n',
  'a: !!str 1\n',
  'a: 1 # comment\n',
  'a: plain\n  continued\n',
  '? a\n: 1\n',
  '--- {a: 1}\n',
  'a:\n  b: 1\n c: 2\n',
  'a: {unquoted: flow}\n',
  'a:\tb\n',
  'true: 1\n',
  '__proto__: {"polluted": true}\n',
  'a: {"__proto__": 1}\n',
  '- a\n- b\n',
  'a: "x"\n-\n',
  'a: 1\na: 2\n',
  '%YAML 1.2\n---\na: 1\n',
  'a: 1\n...\n',
];

describe('reading rendered YAML', () => {
  it('reads the simple kind exactly as the yaml library does', () => {
    for (const text of simpleKind) {
      const docs = parseSimple(text);
      assert.ok(docs, `not read as the simple kind: ${JSON.stringify(text)}`);
      assert.deepEqual(docs, reference(text), JSON.stringify(text));
    }
  });

  it('leaves anything else to the yaml library, and parseRendered then gives its answer', () => {
    for (const text of otherKind) {
      assert.equal(parseSimple(text), undefined, `read as the simple kind: ${JSON.stringify(text)}`);
      assert.deepEqual(parseRendered(text), parseFull(text), JSON.stringify(text));
    }
    assert.deepEqual(parseRendered('a: &x 1\nb: *x\n'), { docs: [{ a: 1, b: 1 }] });
  });

  it('agrees with the yaml library on documents of q-emitted values', () => {
    const values: unknown[] = ['x\n  injected: true', '}{', 'a: b', '{{ 7*7 }}', '- x', '"', '\\', '', 0, -1, 65535, true, null, ['a', { b: 'c' }], {}];
    for (const value of values) {
      const text = `kind: Thing\nvalue: ${q(value)}\nlist:\n  - ${q(value)}\n  - key: ${q(value)}\n`;
      assert.deepEqual(parseSimple(text), reference(text), text);
    }
  });

  it('reports YAML errors instead of throwing', () => {
    const result = parseRendered('a: [1\nb: 2\n');
    assert.ok('error' in result);
    assert.match(result.error, /flow|collection|expected|Missing/i);
    assert.ok('error' in parseRendered('a: 1\na: 2\n'), 'a repeated key is an error');
  });
});
