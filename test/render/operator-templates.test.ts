import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Problem } from '../../agent/model.js';
import { createRenderer } from '../../agent/render/index.js';
import { awsCluster, defaultSettings, gcpCluster, nodeCluster, spec } from '../helpers/fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A renderer over an operator templates directory holding just these files. */
function rendererWith(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-templates-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, renderer: createRenderer({ templatesDir: dir }) };
}

const FORWARD = `{% for forward in forwards %}
---
kind: Forward
name: {{ [name, forward.protocol, forward.range] | dnsname | q }}
address: {{ forward.address | q }}
protocol: {{ forward.protocol | q }}
from: {{ forward.from | q }}
to: {{ forward.to | q }}
exposure: {{ forward.exposure | q }}
sources: {{ forward.sources | q }}
labels: {{ labels | q }}
{% endfor %}
`;

function renderProblem(problems: Problem[]): Problem {
  assert.equal(problems.length, 1);
  const [problem] = problems;
  assert.equal(problem!.code, 'RENDER');
  assert.equal(problem!.severity, 'error');
  return problem!;
}

describe('operator templates', () => {
  it('replace the shipped template of the same name; the others fall back to the shipped ones', () => {
    const custom = FORWARD.replace('labels: {{ labels | q }}', 'labels: {{ labels | q }}\n# from the operator\n').replace('kind: Forward', 'kind: Forward # operator');
    const { renderer } = rendererWith({ 'node-forward.yml.j2': custom.replace('sources: {{ forward.sources | q }}', 'sources: ["10.9.0.0/16"]') });
    const node = renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings());
    assert.deepEqual(node.problems, []);
    assert.deepEqual(node.resources[0]!.body.sources, ['10.9.0.0/16']);
    const aws = renderer.render(awsCluster('a', { ports: [spec(22)] }), defaultSettings());
    assert.deepEqual(aws.problems, []);
    assert.equal(aws.resources[0]!.name, 'portcullis-a');
  });

  it('may use any YAML, not only what the shipped templates write', () => {
    const yamlish = `defaults: &labels
  note: anchors work
---
kind: Forward
name: 'single-quoted'
address: "{{ cluster.node.address }}"
protocol: tcp
from: {{ ports[0].from }}
to: {{ ports[0].to }}
exposure: |-
  private
sources:
  - 10.0.0.0/8
labels:
  app.kubernetes.io/managed-by: portcullis
  portcullis.dev/cluster: {{ name | q }}
`;
    const { renderer } = rendererWith({ 'node-forward.yml.j2': yamlish });
    const { problems, resources } = renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings());
    // The first document is not a Forward: the node provider must not be handed it.
    assert.match(renderProblem(problems).message, /kind null, but the node provider holds only Forward/);
    assert.deepEqual(resources, []);
    const fixed = rendererWith({ 'node-forward.yml.j2': yamlish.split('---\n')[1]! }).renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings());
    assert.deepEqual(fixed.problems, []);
    assert.deepEqual(fixed.resources[0]!.body, {
      kind: 'Forward',
      name: 'single-quoted',
      address: '192.168.100.2',
      protocol: 'tcp',
      from: 22,
      to: 22,
      exposure: 'private',
      sources: ['10.0.0.0/8'],
      labels: { 'app.kubernetes.io/managed-by': 'portcullis', 'portcullis.dev/cluster': 'n' },
    });
  });

  it('a template that does not compile is a RENDER problem naming the template and the cluster', () => {
    const { dir, renderer } = rendererWith({ 'gcp-firewall.yml.j2': 'kind: FirewallRule\n{% for rule in rules %}\nname: {{ rule.name \n' });
    const problem = renderProblem(renderer.render(gcpCluster('g', { ports: [spec(22)] }), defaultSettings()).problems);
    assert.ok(problem.message.includes(join(dir, 'gcp-firewall.yml.j2')), problem.message);
    assert.match(problem.message, /cluster g: the template does not compile/);
    assert.equal(problem.cluster, 'g');
    // The other templates still work.
    assert.deepEqual(renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings()).problems, []);
  });

  it('a template that names an undefined value is a RENDER problem', () => {
    const { renderer } = rendererWith({ 'node-forward.yml.j2': FORWARD.replace('forward.address', 'forward.adress') });
    assert.match(renderProblem(renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings()).problems).message, /rendering failed: .*undefined/);
  });

  it('a template that writes a value raw cannot smuggle a key past the schema', () => {
    const { renderer } = rendererWith({ 'node-forward.yml.j2': FORWARD.replace('labels: {{ labels | q }}', 'labels:\n  app.kubernetes.io/managed-by: portcullis\n  portcullis.dev/cluster: {{ name }}\n  note: {{ labels.note }}') });
    const ok = renderer.render(nodeCluster('n', { ports: [spec(22)], labels: { note: 'fine' } }), defaultSettings());
    assert.deepEqual(ok.problems, []);
    const attack = renderer.render(nodeCluster('n', { ports: [spec(22)], labels: { note: 'x\ninjected: true' } }), defaultSettings());
    assert.deepEqual(attack.resources, []);
    assert.match(renderProblem(attack.problems).message, /Forward "n-tcp-22" is not valid: .*must NOT have additional properties \(injected\)/);
  });

  it('a template that produces invalid YAML is a RENDER problem', () => {
    const { renderer } = rendererWith({ 'node-forward.yml.j2': 'kind: Forward\nname: [unclosed\n' });
    assert.match(renderProblem(renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings()).problems).message, /the output is not valid YAML/);
  });

  it('a template that drops the ownership labels is a RENDER problem', () => {
    const { renderer } = rendererWith({ 'node-forward.yml.j2': FORWARD.replace('labels: {{ labels | q }}', 'labels: {"team": "ml"}') });
    assert.match(renderProblem(renderer.render(nodeCluster('n', { ports: [spec(22)] }), defaultSettings()).problems).message, /does not carry the ownership labels/);
  });

  it('a template that names two objects alike is a RENDER problem', () => {
    const { renderer } = rendererWith({ 'node-forward.yml.j2': FORWARD.replace('{{ [name, forward.protocol, forward.range] | dnsname | q }}', 'same') });
    assert.match(renderProblem(renderer.render(nodeCluster('n', { ports: [spec(22), spec(23)] }), defaultSettings()).problems).message, /two Forward objects are named same/);
  });

  it('a templates directory that does not exist is an error when the renderer is made', () => {
    assert.throws(() => createRenderer({ templatesDir: join(tmpdir(), 'portcullis-no-such-dir') }), /does not exist/);
  });
});
