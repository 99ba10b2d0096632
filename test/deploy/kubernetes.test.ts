// deploy/kubernetes built by the real `kubectl kustomize`, then checked object by object: structure,
// probes, least-privilege RBAC, secrets referenced but never shipped, selectors that match, and flags
// the agent really has.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { secretRef?: { name: string; optional?: boolean } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

describe('deploy/kubernetes (kubectl kustomize)', () => {
  let objects: K8sObject[] = [];
  const one = <T extends K8sObject>(kind: string, name = 'portcullis') => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `no ${kind}/${name} in the build`);
    return found as T;
  };
  let deployment: K8sObject & { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; securityContext: { runAsNonRoot: boolean }; containers: Container[]; volumes: { name: string; secret?: { secretName: string; optional?: boolean }; configMap?: { name: string } }[] } } } };
  let container: Container;

  before(() => {
    const built = spawnSync('kubectl', ['kustomize', 'deploy/kubernetes'], { cwd: root, encoding: 'utf8' });
    if (built.error) throw new Error(`kubectl cannot run (${built.error.message}): install Debian's kubernetes-client (.ci/run does)`);
    assert.equal(built.status, 0, built.stderr);
    const docs = parseAllDocuments(built.stdout);
    for (const doc of docs) assert.deepEqual(doc.errors, []);
    objects = docs.map((d) => d.toJS() as K8sObject);
    deployment = one('Deployment');
    container = deployment.spec.template.spec.containers[0]!;
  });

  it('builds the objects the agent needs, each with apiVersion, kind, name, and the namespace when namespaced', () => {
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/portcullis',
      'ClusterRoleBinding/portcullis',
      'ConfigMap/portcullis',
      'Deployment/portcullis',
      'Namespace/portcullis',
      'Role/portcullis-leader-election',
      'RoleBinding/portcullis-leader-election',
      'Service/portcullis',
      'ServiceAccount/portcullis',
      'ServiceMonitor/portcullis',
    ]);
    for (const o of objects) {
      assert.match(o.apiVersion, /^([a-z0-9.-]+\/)?v\d+(beta\d+)?$/, `${o.kind} apiVersion`);
      assert.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'portcullis', `${o.kind} carries the common label`);
      if (CLUSTER_SCOPED.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`);
      else assert.equal(o.metadata.namespace, 'portcullis', `${o.kind}/${o.metadata.name} namespace`);
    }
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the port the agent listens on', () => {
    const port = container.ports.find((p) => p.name === container.livenessProbe.httpGet.port);
    assert.ok(port, 'the liveness probe names a container port');
    assert.deepEqual([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path], ['/healthz', '/readyz']);
    assert.equal(container.readinessProbe.httpGet.port, port.name);
    assert.ok(container.args.includes(`--listen=0.0.0.0:${port.containerPort}`), 'the agent listens where the probes look');
  });

  it('runs as non-root with a read-only root, no privilege escalation, no capabilities, several replicas with leader election', () => {
    assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.deepEqual([container.securityContext.allowPrivilegeEscalation, container.securityContext.readOnlyRootFilesystem, container.securityContext.capabilities.drop], [false, true, ['ALL']]);
    assert.ok(deployment.spec.replicas >= 2);
    assert.ok(container.args.includes('--leader-elect'));
    assert.equal(deployment.spec.template.spec.serviceAccountName, one('ServiceAccount').metadata.name);
    const env = new Map(container.env.map((e) => [e.name, e]));
    assert.equal(env.get('POD_NAME')?.valueFrom !== undefined, true, 'the leader identity is the pod name');
    for (const proxy of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) assert.ok(env.has(proxy), `${proxy} is passed on`);
  });

  it('gives only the flags `portcullis run` has', () => {
    const help = execFileSync(process.execPath, ['--import', 'tsx', 'agent/cli.ts', 'run', '--help'], { cwd: root, encoding: 'utf8' });
    assert.equal(container.args[0], 'run');
    for (const arg of container.args.slice(1)) {
      const flag = arg.split('=')[0]!;
      assert.ok(help.includes(`${flag} `) || help.includes(`${flag}\n`), `${flag} is not a flag of portcullis run`);
    }
  });

  it('references secrets without shipping any, and every ConfigMap key it reads exists', () => {
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0, 'no Secret values in the manifests');
    const secretRefs = [
      ...container.env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [])),
      ...(container.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef] : [])),
      ...deployment.spec.template.spec.volumes.flatMap((v) => (v.secret ? [{ name: v.secret.secretName, optional: v.secret.optional }] : [])),
    ];
    assert.deepEqual(secretRefs.map((r) => r.name).sort(), ['portcullis-api', 'portcullis-aws', 'portcullis-gcp', 'portcullis-git', 'portcullis-webhook']);
    for (const ref of secretRefs) assert.equal(ref.optional, true, `${ref.name} is optional: the agent starts without it`);
    const data = (one('ConfigMap') as K8sObject & { data: Record<string, string> }).data;
    for (const e of container.env) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref) assert.ok(ref.key in data, `ConfigMap key ${ref.key} (for ${e.name}) exists`);
    }
    assert.ok('config.yaml' in data);
  });

  it('RBAC is least privilege: no wildcards, Pods read-only, Secrets untouched, Leases only in its namespace and only its own', () => {
    const rbac = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as (K8sObject & { rules: Rule[] })[];
    for (const role of rbac) {
      for (const rule of role.rules) {
        for (const field of [rule.apiGroups, rule.resources, rule.verbs]) assert.ok(!field.includes('*'), `${role.kind}/${role.metadata.name} has a wildcard`);
        assert.ok(!rule.resources.includes('secrets'), 'no access to Secrets');
      }
    }
    const clusterRules = one<K8sObject & { rules: Rule[] }>('ClusterRole').rules;
    const verbsOf = (rules: Rule[], resource: string) => rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs).sort();
    assert.deepEqual(verbsOf(clusterRules, 'services'), ['create', 'delete', 'get', 'list', 'update', 'watch']);
    assert.deepEqual(verbsOf(clusterRules, 'ingresses'), ['create', 'delete', 'get', 'list', 'update', 'watch']);
    assert.deepEqual(verbsOf(clusterRules, 'pods'), ['list']);
    assert.deepEqual(verbsOf(clusterRules, 'leases'), [], 'no cluster-wide Lease access');
    const leaseRules = one<K8sObject & { rules: Rule[] }>('Role', 'portcullis-leader-election').rules;
    assert.deepEqual(leaseRules.filter((r) => r.verbs.includes('update')).map((r) => r.resourceNames), [['portcullis']]);
    assert.ok(container.args.includes('--leader-elect-lease-name=portcullis'), 'the lease the Role allows is the one the agent uses');
    for (const binding of objects.filter((o) => o.kind.endsWith('Binding')) as (K8sObject & { subjects: { kind: string; name: string; namespace: string }[] })[]) {
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'portcullis', namespace: 'portcullis' }]);
    }
  });

  it('the Service selects the pods, and the ServiceMonitor selects the Service on the metrics port', () => {
    const service = one<K8sObject & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } }>('Service');
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v, `pods carry ${k}=${v}`);
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(podLabels[k], v);
    assert.equal(service.spec.ports[0]!.targetPort, container.ports[0]!.name);
    const monitor = one<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } }>('ServiceMonitor');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[k], v, `the Service carries ${k}=${v}`);
    assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [[service.spec.ports[0]!.name, '/metrics']]);
  });
});
