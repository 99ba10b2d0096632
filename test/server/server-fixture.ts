// The agent's HTTP server on 127.0.0.1 over a real Reconciler, for endpoint tests.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Reconciler } from '../../agent/engine/pass.js';
import { createMetrics, type Metrics } from '../../agent/metrics.js';
import type { Provider } from '../../agent/providers/provider.js';
import { createRenderer } from '../../agent/render/index.js';
import { createAgentServer, type ServerDeps } from '../../agent/server/http.js';
import type { Source } from '../../agent/engine/pass.js';
import { MemoryRepo, nodeManifest, silentLog } from '../helpers/agent-fixture.js';

export interface TestServer {
  url: string;
  reconciler: Reconciler;
  metrics: Metrics;
  request(method: string, path: string, options?: { body?: string; headers?: Record<string, string> }): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>;
  close(): Promise<void>;
}

export interface TestServerOptions extends Partial<Omit<ServerDeps, 'reconciler' | 'metrics'>> {
  source?: Source;
  providers?: Partial<Record<'node', Provider>>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { source, providers, ...deps } = options;
  let current: Reconciler | undefined;
  const metrics = createMetrics(() => current);
  const reconciler = new Reconciler({
    source: source ?? new MemoryRepo({ 'clusters/web.yaml': nodeManifest('web', '127.0.0.1', [8080]) }),
    renderer: createRenderer(),
    providers: providers ?? {},
    log: silentLog,
    onPass: (report) => metrics.recordPass(report),
  });
  current = reconciler;
  const server = createAgentServer({ reconciler, metrics, trigger: () => {}, ...deps });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    reconciler,
    metrics,
    request: (method, path, { body, headers = {} } = {}) =>
      new Promise((resolve, reject) => {
        const req = request(`${url}${path}`, { method, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        });
        // The server may answer (413) and close before the whole body is sent: the answer is what counts.
        req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
        req.end(body);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
