import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problemLine, problemWithSource } from '../../agent/manifest/format-problem.js';
import { loadRepo } from '../../agent/manifest/load.js';
import type { Problem } from '../../agent/model.js';
import { snapshotOf } from '../helpers/repo.js';

const lines = (problems: Problem[]) => problems.map(problemLine);

describe('loadRepo: cluster manifests', () => {
  it('reads several documents per file and fills defaults', () => {
    const repo = loadRepo(
      snapshotOf({
        'clusters/a.yaml': 'name: b\ncloud: kubernetes\nresources: {ports: 80}\n---\nname: a\ncloud: gcp\ngcp: {project: my-proj-1}\n',
        'clusters/nested/deep/c.yml': 'name: c\ncloud: node\nnode: {address: 10.1.2.3}\n',
        'clusters/README.md': 'not a manifest',
        'other/x.yaml': 'name: ignored\n',
      }),
    );
    assert.deepEqual(repo.problems, []);
    assert.deepEqual(
      repo.clusters.map((c) => c.name),
      ['a', 'b', 'c'],
    );
    const [a, b, c] = repo.clusters;
    assert.equal(a?.cloud === 'gcp' && a.gcp.target_tags.join(), 'portcullis-a');
    assert.ok(b?.cloud === 'kubernetes');
    assert.deepEqual(b.kubernetes, { namespace: 'default', selector: { 'portcullis.dev/cluster': 'b' } });
    assert.deepEqual(b.at, { file: 'clusters/a.yaml', line: 1, col: 1 });
    assert.equal(c?.cloud === 'node' && c.node.address, '10.1.2.3');
    assert.deepEqual(repo.settings.node.port_range, { from: 10000, to: 11000 });
  });

  it('points an unknown key at the key itself and suggests the nearest', () => {
    const repo = loadRepo(snapshotOf({ 'clusters/a.yaml': 'name: a\ncloud: node\nnode:\n  address: 10.0.0.1\nresources:\n  prots: [80]\n' }));
    assert.deepEqual(lines(repo.problems), ["clusters/a.yaml:6:3: unknown key 'prots' — did you mean 'ports'?"]);
    assert.equal(repo.problems[0]?.code, 'UNKNOWN_KEY');
    assert.deepEqual(repo.clusters, []);
    assert.deepEqual(repo.brokenClusters, ['a']);
  });

  it('reports every problem of every file in one run, each at its node', () => {
    const repo = loadRepo(
      snapshotOf({
        'clusters/a.yaml': 'name: Bad_Name\ncloud: node\nnode: {address: 10.0.0.1}\n',
        'clusters/b.yaml': 'name: b\ncloud: azure\n',
        'clusters/c.yaml': 'name: c\ncloud: aws\n',
        'clusters/d.yaml': 'name: d\ncloud: node\nnode: {address: 10.0.0.1}\nresources:\n  ports: [80, 70000]\n',
        'clusters/e.yaml': 'name: e\ncloud: node\nnode: {address: 10.0.0.1, adress: x}\n',
      }),
    );
    const got = lines(repo.problems);
    assert.equal(got.length, 5, got.join('\n'));
    assert.match(got[0]!, /^clusters\/a\.yaml:1:7: 'name' is not valid: expected a DNS-1123 label/);
    assert.match(got[1]!, /^clusters\/b\.yaml:2:8: 'cloud' must be one of kubernetes, aws, gcp, node$/);
    assert.match(got[2]!, /^clusters\/c\.yaml:1:1: the document is missing required key 'aws' \(a cluster on cloud: aws needs an? 'aws:' block\)$/);
    assert.match(got[3]!, /^clusters\/d\.yaml:5:15: .*70000/);
    assert.equal(got[4], "clusters/e.yaml:3:27: unknown key 'adress' — did you mean 'address'?");
    assert.deepEqual(repo.brokenClusters, ['b', 'c', 'd', 'e']);
    assert.deepEqual(repo.brokenFiles, ['clusters/a.yaml', 'clusters/b.yaml', 'clusters/c.yaml', 'clusters/d.yaml', 'clusters/e.yaml'], 'a file with an error may have changed any name in it: all its clusters keep their state');
  });

  it('reports YAML syntax errors with their position and marks the whole file broken', () => {
    const repo = loadRepo(snapshotOf({ 'clusters/a.yaml': 'name: a\ncloud: node\nnode: {address: 10.0.0.1}\n---\nname: b\nname: c\n' }));
    assert.equal(repo.problems.length, 1);
    assert.equal(repo.problems[0]?.code, 'YAML_SYNTAX');
    assert.match(problemLine(repo.problems[0]!), /^clusters\/a\.yaml:6:1: Map keys must be unique/);
    assert.deepEqual(repo.clusters, [], 'half a file is not trusted');
    assert.deepEqual(repo.brokenFiles, ['clusters/a.yaml']);
  });

  it('refuses alias bombs without expanding them', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [i, n] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) bomb.push(`${n}: &${n} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`);
    const started = Date.now();
    const repo = loadRepo(snapshotOf({ 'clusters/bomb.yaml': `${bomb.join('\n')}\n` }));
    assert.ok(Date.now() - started < 2000);
    assert.equal(repo.problems.length, 1);
    assert.match(problemLine(repo.problems[0]!), /^clusters\/bomb\.yaml:1:1: too many YAML aliases/);
  });

  it('refuses the same cluster in two files, naming both places, and trusts neither', () => {
    const repo = loadRepo(
      snapshotOf({
        'clusters/a.yaml': 'name: web\ncloud: node\nnode: {address: 10.0.0.1}\n',
        'clusters/b.yaml': '# again\nname: web\ncloud: node\nnode: {address: 10.0.0.2}\n',
      }),
    );
    assert.deepEqual(lines(repo.problems), ["clusters/b.yaml:2:7: cluster 'web' is also defined at clusters/a.yaml:1:7: cluster names must be unique across the repo, rename one"]);
    assert.deepEqual(repo.clusters, []);
    assert.deepEqual(repo.brokenClusters, ['web']);
  });

  it('enforces allowed_clouds and kubernetes.allowed_contexts from settings', () => {
    const repo = loadRepo(
      snapshotOf({
        'config.yaml': 'allowed_clouds: [kubernetes]\nkubernetes:\n  allowed_contexts: [prod]\n',
        'clusters/a.yaml': 'name: a\ncloud: node\nnode: {address: 10.0.0.1}\n',
        'clusters/b.yaml': 'name: b\ncloud: kubernetes\nkubernetes: {context: dev}\n',
        'clusters/c.yaml': 'name: c\ncloud: kubernetes\nkubernetes: {context: prod}\n',
      }),
    );
    const got = lines(repo.problems);
    assert.match(got[0]!, /^clusters\/a\.yaml:2:8: cloud 'node' is not in the settings' allowed_clouds \(kubernetes\)/);
    assert.match(got[1]!, /^clusters\/b\.yaml:3:23: kubernetes context 'dev' is not in the settings' kubernetes\.allowed_contexts \(prod\)/);
    assert.deepEqual(
      repo.clusters.map((c) => c.name),
      ['c'],
    );
  });

  it('rejects a document that is not a map', () => {
    const repo = loadRepo(snapshotOf({ 'clusters/a.yaml': '- name: a\n' }));
    assert.deepEqual(lines(repo.problems), ['clusters/a.yaml:1:1: a cluster manifest must be a map with at least name: and cloud:']);
    assert.deepEqual(repo.brokenFiles, ['clusters/a.yaml']);
  });
});

describe('loadRepo: settings', () => {
  it('suggests the nearest known key for a typo, at any depth', () => {
    const repo = loadRepo(snapshotOf({ 'config.yaml': 'kubernetes:\n  prots: ingress\n  ingress:\n    clas: traefik\nalowed_clouds: [aws]\n' }));
    assert.deepEqual(lines(repo.problems), [
      "config.yaml:2:3: unknown key 'prots' — did you mean 'ports'?",
      "config.yaml:4:5: unknown key 'clas' — did you mean 'class'?",
      "config.yaml:5:1: unknown key 'alowed_clouds' — did you mean 'allowed_clouds'?",
    ]);
  });

  it('suggests an enum value and checks values JSON Schema cannot', () => {
    const repo = loadRepo(snapshotOf({ 'config.yaml': 'kubernetes:\n  ports: loadbalancr\nprivate_cidrs: [10.0.0.1/8]\nnode:\n  port_range: 11000-10000\n' }));
    const got = lines(repo.problems);
    assert.equal(got[0], "config.yaml:2:10: 'kubernetes.ports' must be one of loadbalancer, ingress, podip — did you mean 'loadbalancer'?");
    assert.match(got[1]!, /^config\.yaml:3:17: private_cidrs: .*10\.0\.0\.0\/8/);
    assert.match(got[2]!, /^config\.yaml:5:15: node\.port_range 11000-10000 is not a range of ports/);
  });

  it('merges the admin file over the repo file, and a broken settings file trusts no cluster', () => {
    const files = {
      'config.yaml': 'kubernetes:\n  ports: ingress\n  ingress: {class: traefik}\nnode: {port_range: 20000-20100}\n',
      'clusters/a.yaml': 'name: a\ncloud: node\nnode: {address: 10.0.0.1}\n',
    };
    const repo = loadRepo(snapshotOf(files), { adminSettings: { file: '/etc/portcullis/admin.yaml', text: 'kubernetes:\n  ports: podip\n' } });
    assert.deepEqual(repo.problems, []);
    assert.equal(repo.settings.kubernetes.ports, 'podip');
    assert.equal(repo.settings.kubernetes.ingress.class, 'traefik');
    assert.deepEqual(repo.settings.node.port_range, { from: 20000, to: 20100 });

    const broken = loadRepo(snapshotOf({ ...files, 'config.yaml': 'nod: {}\n' }));
    assert.deepEqual(lines(broken.problems), ["config.yaml:1:1: unknown key 'nod' — did you mean 'node'?"]);
    assert.deepEqual(broken.clusters, []);
    assert.deepEqual(broken.brokenFiles, ['clusters/a.yaml']);
  });
});

describe('problemWithSource', () => {
  it('shows the offending line with a caret under the column', () => {
    const text = 'name: a\ncloud: node\nnode: {address: 10.0.0.1}\nresources:\n  prots: [80]\n';
    const repo = loadRepo(snapshotOf({ 'clusters/a.yaml': text }));
    assert.equal(problemWithSource(repo.problems[0]!, new Map([['clusters/a.yaml', text]])), ["clusters/a.yaml:5:3: unknown key 'prots' — did you mean 'ports'?", ' 5 |   prots: [80]', '   |   ^'].join('\n'));
  });
});
