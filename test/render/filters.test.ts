import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { dnsname, q, shortHash } from '../../agent/render/filters.js';

const awkward = [
  'x\n  injected: true',
  '}{',
  'a: b',
  '{{ 7*7 }}',
  '- x',
  '# not a comment',
  "it's \"quoted\" \\ back",
  'tab\there',
  '\u0000\u0007\u001b control',
  '\u007f\u0085\u009f C1 and DEL',
  'line\u2028sep\u2029para',
  '\ufeffbom',
  'emoji 🙂 and \ud800 lone surrogate',
  '*alias &anchor !tag',
  '---',
  '...',
  '',
  ' leading and trailing ',
  'null',
  'true',
  '0x1f',
  '1e3',
];

describe('q', () => {
  it('emits every string as one YAML scalar that reads back exactly', () => {
    for (const value of awkward) {
      const doc = parse(`key: ${q(value)}\nafter: 1\n`) as Record<string, unknown>;
      assert.deepEqual(doc, { key: value, after: 1 }, JSON.stringify(value));
    }
  });

  it('emits lists and maps as flow nodes that read back exactly', () => {
    const value = { 'a: b': ['x\n- y', 1, true, null], '{{ k }}': { nested: '}{' }, '': 'empty key' };
    assert.deepEqual(parse(`key: ${q(value)}\n`), { key: value });
    assert.deepEqual(parse(`- ${q(awkward)}\n`), [awkward]);
  });

  it('emits numbers and booleans as themselves', () => {
    assert.equal(q(8888), '8888');
    assert.equal(q(false), 'false');
    assert.equal(q(null), 'null');
  });

  it('refuses what JSON cannot say exactly', () => {
    assert.throws(() => q(undefined), /undefined/);
    assert.throws(() => q(Number.NaN), /NaN/);
    assert.throws(() => q(Infinity), /Infinity/);
    assert.throws(() => q({ a: [1, undefined] }), /a\[1\] is undefined/);
    assert.throws(() => q(() => 1), /function/);
    assert.throws(() => q(new Date(0)), /object/);
  });
});

describe('dnsname', () => {
  it('joins parts with "-" and leaves a valid name alone', () => {
    assert.equal(dnsname(['jupyter', 8888]), 'jupyter-8888');
    assert.equal(dnsname('jupyter', 'tcp', '10020-10040'), 'jupyter-tcp-10020-10040');
    assert.equal(dnsname(['portcullis', 'c', 'tcp', 'public', '', '']), 'portcullis-c-tcp-public');
  });

  it('shortens a long name to 63 chars with a hash of the full name, stable and unique', () => {
    const long = 'a'.repeat(60);
    const one = dnsname([long, 8888]);
    const two = dnsname([long, 8889]);
    assert.equal(one.length, 63);
    assert.match(one, /^a+-[0-9a-f]{8}$/);
    assert.ok(one.endsWith(`-${shortHash(`${long}-8888`)}`));
    assert.notEqual(one, two);
    assert.equal(dnsname([long, 8888]), one);
  });

  it('turns a name that is not an RFC 1035 label into one, with a hash so it stays unique', () => {
    for (const input of ['1abc', 'Upper', 'a_b', 'a.b', 'x-']) {
      const name = dnsname(input);
      assert.match(name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/, input);
      assert.ok(name.length <= 63);
      assert.ok(name.endsWith(shortHash(input)), input);
    }
    assert.notEqual(dnsname('a_b'), dnsname('a.b'));
  });

  it('refuses parts that are not strings or integers', () => {
    assert.throws(() => dnsname(['a', undefined]), /undefined/);
    assert.throws(() => dnsname(['a', { b: 1 }]), /object/);
  });
});
