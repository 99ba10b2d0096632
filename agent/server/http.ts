import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemJson } from '../engine/plan-json.js';
import type { Reconciler } from '../engine/pass.js';
import type { Trigger } from '../engine/scheduler.js';
import type { Metrics } from '../metrics.js';
import { COMMIT, VERSION } from '../version.js';

export const API_VERSION = 'v1';

export interface ServerDeps {
  reconciler: Reconciler;
  metrics: Metrics;
  /** Asks for a pass. */
  trigger(trigger: Trigger): void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The agent's HTTP face: metrics, health, status. Routes are few and fixed, so a table beats a framework. */
export function createAgentServer(deps: ServerDeps): Server {
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/metrics': {
      GET: async (_req, res) => {
        const body = await deps.metrics.registry.metrics();
        send(res, 200, body, deps.metrics.registry.contentType);
      },
    },
    '/healthz': { GET: (_req, res) => send(res, 200, 'ok\n') },
    '/readyz': {
      GET: (_req, res) => {
        const report = deps.reconciler.report;
        const ready = report !== undefined && !report.reasons.includes('SourceFailed') && !report.reasons.includes('ObserveFailed');
        send(res, ready ? 200 : 503, ready ? 'ready\n' : `not ready: ${report ? (report.message ?? report.result) : 'no pass has run yet'}\n`);
      },
    },
    '/api/health': {
      GET: (_req, res) => json(res, 200, { status: 'healthy', api_version: API_VERSION, version: VERSION, commit: COMMIT }),
    },
    '/api/status': {
      GET: (_req, res) => {
        const report = deps.reconciler.report;
        json(res, 200, {
          revision: report?.revision ?? null,
          lastPass: report ? { result: report.result, reasons: report.reasons, message: report.message ?? null, startedAt: new Date(report.startedAt).toISOString(), durationMs: report.durationMs } : null,
          clusters: deps.reconciler.status,
          problems: (report?.problems ?? []).map(problemJson),
        });
      },
    },
    '/api/reconcile': {
      POST: (_req, res) => {
        deps.trigger('api');
        json(res, 202, { accepted: true });
      },
    },
  };

  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (!route) return json(res, 404, { error: `no such endpoint: ${path}` });
    const handler = route[req.method ?? 'GET'];
    if (!handler) {
      res.setHeader('Allow', Object.keys(route).join(', '));
      return json(res, 405, { error: `${req.method} is not allowed on ${path}` });
    }
    Promise.resolve(handler(req, res)).catch((err: unknown) => json(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
}

export function listen(server: Server, address: string): Promise<AddressInfo> {
  const { host, port } = parseListen(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** `127.0.0.1:9464`, `:9464`, `[::1]:9464`, `9464`. */
export function parseListen(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address) ?? /^()()(\d+)$/.exec(address);
  if (!match) throw new Error(`--listen ${address}: expected HOST:PORT, e.g. 127.0.0.1:9464`);
  return { host: match[1] || match[2] || '0.0.0.0', port: Number(match[3]) };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}
