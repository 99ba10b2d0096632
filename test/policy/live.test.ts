import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveClusters, liveSpecs } from '../../agent/policy/live.js';
import type { JsonObject, Resource } from '../../agent/model.js';

// What each provider's observed bodies say is open, as the live audit reads them.
const resource = (cloud: Resource['cloud'], kind: string, body: JsonObject): Resource => ({ id: `${cloud}/c/${kind}/x`, cloud, cluster: 'c', kind, name: 'x', body });
const brief = (r: Resource) => liveSpecs(r).map((s) => `${s.protocol}/${s.from}-${s.to} ${s.exposure}${s.cidrs.length ? ` ${s.cidrs.join(',')}` : ''}`);

describe('live port specs', () => {
  it('a node forward: its instance ports, public when its sources are anyone', () => {
    assert.deepEqual(brief(resource('node', 'Forward', { address: '10.0.0.2', protocol: 'tcp', port: 22, size: 3, node_port: 10100, sources: ['0.0.0.0/0', '::/0'], exposure: 'public' })), ['tcp/22-24 public']);
    assert.deepEqual(brief(resource('node', 'Forward', { address: '10.0.0.2', protocol: 'udp', port: 53, size: 1, node_port: 10100, sources: ['10.0.0.0/8'], exposure: 'private' })), ['udp/53-53 private 10.0.0.0/8']);
  });

  it('AWS rules and GCP firewall rules: 0.0.0.0/0 is public, whatever the manifest said', () => {
    assert.deepEqual(brief(resource('aws', 'SecurityGroup', { rules: [{ protocol: 'tcp', from: 22, to: 22, cidr: '0.0.0.0/0' }, { protocol: 'udp', from: 53, to: 53, cidr: '10.0.0.0/8' }] })), ['tcp/22-22 public', 'udp/53-53 private 10.0.0.0/8']);
    assert.deepEqual(brief(resource('gcp', 'FirewallRule', { sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22', '8000-8010'] }] })), ['tcp/22-22 public', 'tcp/8000-8010 public']);
  });

  it('Kubernetes: a LoadBalancer Service and an Ingress with or without an allow-list; a ClusterIP Service counts nothing', () => {
    const lb = { object: { spec: { type: 'LoadBalancer', ports: [{ port: 443, protocol: 'TCP' }], loadBalancerSourceRanges: ['10.0.0.0/8'] } } };
    assert.deepEqual(brief(resource('kubernetes', 'Service', lb)), ['tcp/443-443 private 10.0.0.0/8']);
    assert.deepEqual(brief(resource('kubernetes', 'Service', { object: { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } } })), []);
    const ingress = { object: { metadata: {}, spec: { rules: [{ http: { paths: [{ backend: { service: { port: { number: 8888 } } } }] } }] } } };
    assert.deepEqual(brief(resource('kubernetes', 'Ingress', ingress)), ['tcp/8888-8888 public']);
  });

  it('clusters Git still names keep their target; others get one from the resource, positioned at it', () => {
    const r = resource('node', 'Forward', { address: '10.9.9.9', protocol: 'tcp', port: 22, size: 1, sources: ['0.0.0.0/0'], exposure: 'public' });
    const [cluster] = liveClusters([r], []);
    assert.equal(cluster!.cloud === 'node' && cluster!.node.address, '10.9.9.9');
    assert.deepEqual(cluster!.at, { file: 'node/c/Forward/x', line: 0, col: 0 });
  });
});
