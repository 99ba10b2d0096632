import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withLastGood } from '../../agent/engine/last-good.js';
import type { Cluster } from '../../agent/model.js';
import { nodeCluster, port } from './helpers.js';

function head(clusters: Cluster[], brokenFiles: string[] = [], brokenClusters: string[] = []) {
  return { clusters, brokenFiles, brokenClusters };
}

const names = (clusters: Cluster[]) => clusters.map((c) => c.name);

describe('withLastGood', () => {
  const web = nodeCluster('web', [port('tcp:443')]);
  const ml = nodeCluster('ml', [port('tcp:8888')]);
  const batch = nodeCluster('batch', [port('tcp:8080')]);

  it('keeps the previous state of a cluster whose file is broken', () => {
    const result = withLastGood([web, ml], head([ml], ['clusters/web.yaml']));
    assert.deepEqual(names(result.clusters), ['ml', 'web']);
    assert.equal(result.clusters[1], web);
    assert.deepEqual(result.kept, ['web']);
  });

  it('keeps a cluster named in a document that failed', () => {
    const result = withLastGood([web, ml], head([ml], [], ['web']));
    assert.deepEqual(names(result.clusters), ['ml', 'web']);
    assert.deepEqual(result.kept, ['web']);
  });

  it('drops a cluster whose manifest was removed, so its ports close', () => {
    const result = withLastGood([web, ml], head([ml]));
    assert.deepEqual(names(result.clusters), ['ml']);
    assert.deepEqual(result.kept, []);
  });

  it('keeps the old name when a broken file renamed its cluster', () => {
    // clusters/ml.yaml now says `name: ml2` but no longer parses: ml stays as it was; ml2 is not known yet.
    const result = withLastGood([ml, batch], head([batch], ['clusters/ml.yaml'], ['ml2']));
    assert.deepEqual(names(result.clusters), ['batch', 'ml']);
    assert.deepEqual(result.kept, ['ml']);
  });

  it('closes the old name when the rename is readable', () => {
    const renamed = nodeCluster('ml2', [port('tcp:8888')], { file: 'clusters/ml.yaml' });
    const result = withLastGood([ml], head([renamed]));
    assert.deepEqual(names(result.clusters), ['ml2']);
    assert.deepEqual(result.kept, []);
  });

  it('prefers what head defines over a kept state', () => {
    // The cluster moved to another file; its old file is broken but head reads it fine elsewhere.
    const moved = nodeCluster('web', [port('tcp:8443')], { file: 'clusters/other.yaml' });
    const result = withLastGood([web], head([moved], ['clusters/web.yaml'], []));
    assert.deepEqual(result.clusters, [moved]);
    assert.deepEqual(result.kept, []);
  });

  it('sorts clusters and kept names', () => {
    const result = withLastGood([web, batch, ml], head([], ['clusters/web.yaml', 'clusters/ml.yaml', 'clusters/batch.yaml']));
    assert.deepEqual(names(result.clusters), ['batch', 'ml', 'web']);
    assert.deepEqual(result.kept, ['batch', 'ml', 'web']);
  });
});
