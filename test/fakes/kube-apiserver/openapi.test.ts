// The fake's OpenAPI v3 documents, read by the real kubectl: with them, `kubectl apply --server-side`
// learns that the server validates fields (fieldValidation=Strict) and needs no schema download.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startKubeApiserver, type FakeKube, type JsonObject } from './index.js';
import { openapiDocument } from './openapi.js';

const run = promisify(execFile);
const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  type: ClusterIP
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
`;

describe('fake kube-apiserver: OpenAPI v3 for kubectl', () => {
  let fake: FakeKube;
  let dir: string;
  before(async () => {
    // kubectl sends no bearer token to a plain-http server, so this fake checks none.
    fake = await startKubeApiserver({ auth: 'none' });
    dir = mkdtempSync(join(tmpdir(), 'portcullis-kubectl-'));
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${fake.url}"}}]\nusers: [{name: fake, user: {}}]\ncontexts: [{name: fake, context: {cluster: fake, user: fake}}]\ncurrent-context: fake\n`,
    );
    writeFileSync(join(dir, 'service.yaml'), SERVICE);
  });
  after(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (...args: string[]) =>
    run('kubectl', [...args, '--cache-dir', join(dir, 'cache')], { env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig') } }).catch((err: Error & { stderr?: string; code?: unknown }) => {
      throw new Error(`kubectl ${args.join(' ')} failed (kubectl must be installed, e.g. /usr/bin/kubectl): ${err.stderr ?? err.message}`);
    });

  it('indexes every group-version and marks each PATCH with its kind and the fieldValidation parameter', () => {
    const index = openapiDocument('/openapi/v3') as { paths: Record<string, { serverRelativeURL: string }> };
    assert.deepEqual(Object.keys(index.paths).sort(), ['api/v1', 'apis/coordination.k8s.io/v1', 'apis/networking.k8s.io/v1']);
    const url = new URL(index.paths['apis/networking.k8s.io/v1']!.serverRelativeURL, 'http://x');
    assert.match(url.search, /^\?hash=[0-9A-F]{32}$/);
    const doc = openapiDocument(url.pathname) as { paths: Record<string, Record<string, JsonObject>> };
    const patch = doc.paths['/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}']!.patch!;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' });
    assert.ok((patch.parameters as JsonObject[]).some((p) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.equal(openapiDocument('/openapi/v3/apis/example.com/v1'), undefined);
  });

  it('lets kubectl apply --server-side create, then re-apply, with server-side field validation', async () => {
    fake.clearRequests();
    const first = await kubectl('apply', '--server-side', '-f', join(dir, 'service.yaml'));
    assert.match(first.stdout, /service\/web serverside-applied/);
    const patches = fake.requests.filter((r) => r.method === 'PATCH');
    assert.deepEqual(patches.map((r) => [r.path, r.status, r.query.fieldValidation, r.query.fieldManager, r.contentType]), [
      ['/api/v1/namespaces/default/services/web', 201, 'Strict', 'kubectl', 'application/apply-patch+yaml'],
    ]);
    assert.equal(fake.requests.filter((r) => r.path.startsWith('/openapi/v2')).length, 0, 'no schema download for client-side validation');
    const spec = fake.get('Service', 'default', 'web')!.spec as JsonObject;
    assert.deepEqual((spec.ports as JsonObject[]).map((p) => [p.port, p.targetPort]), [[80, 8080]]);

    fake.clearRequests();
    const again = await kubectl('apply', '--server-side', '-f', join(dir, 'service.yaml'));
    assert.match(again.stdout, /service\/web serverside-applied/);
    assert.deepEqual(fake.requests.filter((r) => r.method === 'PATCH').map((r) => r.status), [200], 'an unchanged re-apply is still one PATCH');
  });
});
