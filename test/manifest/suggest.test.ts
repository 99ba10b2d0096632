import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance, suggest } from '../../agent/manifest/suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps as one each', () => {
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('same', 'same'), 0);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('pubilc', 'public'), 1);
    assert.equal(editDistance('ab', 'ba'), 1);
    assert.equal(editDistance('ca', 'abc'), 3);
  });
});

describe('suggest', () => {
  const keys = ['port', 'protocol', 'name', 'public', 'cidrs'];

  it('names the nearest candidate for a typo', () => {
    assert.equal(suggest('prots', ['ports', 'resources']), 'ports');
    assert.equal(suggest('pubilc', keys), 'public');
    assert.equal(suggest('protcol', keys), 'protocol');
    assert.equal(suggest('cidr', keys), 'cidrs');
    assert.equal(suggest('prto', keys), 'port');
  });

  it('suggests nothing when no candidate is near', () => {
    assert.equal(suggest('zzz', keys), undefined);
    assert.equal(suggest('exposure', keys), undefined);
    assert.equal(suggest('port', []), undefined);
  });

  it('allows max(2, floor(length / 3)) edits', () => {
    // Six letters: 2 edits allowed.
    assert.equal(suggest('abcxyf', ['abcdef']), 'abcdef');
    assert.equal(suggest('axxxef', ['abcdef']), undefined);
    // Twelve letters: 4 edits allowed.
    assert.equal(suggest('abcdefghwxyz', ['abcdefghijkl']), 'abcdefghijkl');
    assert.equal(suggest('abcdefgvwxyz', ['abcdefghijkl']), undefined);
    // Short words still get 2.
    assert.equal(suggest('ab', ['abcd']), 'abcd');
    assert.equal(suggest('ab', ['abcde']), undefined);
  });

  it('ignores case, returns the candidate as spelled, and breaks ties by candidate order', () => {
    assert.equal(suggest('PORT', keys), 'port');
    assert.equal(suggest('Prots', ['Ports']), 'Ports');
    assert.equal(suggest('cat', ['bat', 'hat']), 'bat');
    assert.equal(suggest('cat', ['hat', 'bat']), 'hat');
    assert.equal(suggest('cat', ['bxt', 'cats']), 'cats', 'a closer candidate wins over an earlier one');
  });
});
