import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemJson } from '../engine/plan-json.js';
import { violationJson } from '../policy/format.js';
import type { Reconciler } from '../engine/pass.js';
import type { Trigger } from '../engine/scheduler.js';
import type { Metrics } from '../metrics.js';
import { redactSecrets } from '../log.js';
import { COMMIT, VERSION } from '../version.js';
import { BodyTooLarge, readBody } from './body.js';
import { bearerValid } from './secrets.js';
import { judgeDelivery, WEBHOOK_BODY_LIMIT, type WebhookProvider } from './webhook.js';

export const API_VERSION = 'v1';

export interface ServerDeps {
  reconciler: Reconciler;
  metrics: Metrics;
  /** Asks for a pass. */
  trigger(trigger: Trigger): void;
  /** The branch whose pushes start a pass (default main). */
  branch?: string;
  /** The shared secret of GitHub/GitLab webhooks; without one the webhook endpoints answer 404. */
  webhookSecret?: string;
  /** When set, /api/* endpoints that change things need `Authorization: Bearer <token>`. */
  apiToken?: string;
  /** Whether this replica holds the leader lease, for /api/status (absent: leader election is off). */
  leader?: () => boolean;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The agent's HTTP face: metrics, health, status, webhooks. Routes are few and fixed, so a table beats a framework. */
export function createAgentServer(deps: ServerDeps): Server {
  const secrets = [deps.webhookSecret, deps.apiToken].filter((s): s is string => s !== undefined);
  const mutating = (handler: Handler): Handler => (req, res) => {
    if (deps.apiToken !== undefined && !bearerValid(req, deps.apiToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="portcullis"');
      return json(res, 401, { error: `${req.url}: needs the API token: send 'Authorization: Bearer <token>'` });
    }
    return handler(req, res);
  };
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/metrics': {
      GET: async (_req, res) => {
        const body = await deps.metrics.registry.metrics();
        send(res, 200, redactSecrets(body, secrets), deps.metrics.registry.contentType);
      },
    },
    '/healthz': { GET: (_req, res) => send(res, 200, 'ok\n') },
    '/readyz': {
      GET: (_req, res) => {
        const why = notReady(deps.reconciler);
        send(res, why ? 503 : 200, why ? `not ready: ${redactSecrets(why, secrets)}\n` : 'ready\n');
      },
    },
    '/api/health': {
      GET: (_req, res) => json(res, 200, { status: 'healthy', api_version: API_VERSION, version: VERSION, commit: COMMIT }),
    },
    '/api/status': {
      GET: (_req, res) => {
        const report = deps.reconciler.report;
        const body = {
          revision: report?.revision ?? null,
          ...(deps.leader ? { leader: deps.leader() } : {}),
          lastPass: report ? { result: report.result, reasons: report.reasons, message: report.message ?? null, startedAt: new Date(report.startedAt).toISOString(), durationMs: report.durationMs } : null,
          lastError: report?.message ?? deps.reconciler.status.find((c) => c.lastError)?.lastError ?? null,
          clusters: deps.reconciler.status,
          problems: (report?.problems ?? []).map(problemJson),
          // What the last live audit (--audit-interval) found in what the providers hold; null before one ran.
          audit: deps.reconciler.audited?.map(violationJson) ?? null,
        };
        send(res, 200, redactSecrets(`${JSON.stringify(body, null, 2)}\n`, secrets), 'application/json');
      },
    },
    '/api/reconcile': {
      POST: mutating((_req, res) => {
        deps.trigger('api');
        json(res, 202, { accepted: true });
      }),
    },
    '/api/webhook/github': { POST: (req, res) => webhook('github', req, res) },
    '/api/webhook/gitlab': { POST: (req, res) => webhook('gitlab', req, res) },
  };

  async function webhook(provider: WebhookProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (deps.webhookSecret === undefined) {
      deps.metrics.observeWebhook(provider, 'disabled');
      req.resume();
      return json(res, 404, { error: 'webhooks are off: give the agent a secret with PORTCULLIS_WEBHOOK_SECRET or --webhook-secret-file' });
    }
    let body: Buffer;
    try {
      body = await readBody(req, WEBHOOK_BODY_LIMIT);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      deps.metrics.observeWebhook(provider, 'too_large');
      res.setHeader('Connection', 'close');
      return json(res, 413, { error: `webhook body larger than ${WEBHOOK_BODY_LIMIT} bytes` });
    }
    const verdict = judgeDelivery(provider, req.headers, body, deps.webhookSecret, deps.branch ?? 'main');
    switch (verdict.kind) {
      case 'unauthorized':
        deps.metrics.observeWebhook(provider, 'unauthorized');
        return json(res, 401, { error: verdict.reason });
      case 'bad_request':
        deps.metrics.observeWebhook(provider, 'bad_request');
        return json(res, 400, { error: verdict.reason });
      case 'ignored':
        deps.metrics.observeWebhook(provider, 'ignored');
        return json(res, 202, { triggered: false, reason: verdict.reason });
      case 'trigger':
        deps.metrics.observeWebhook(provider, 'triggered');
        deps.trigger('webhook');
        return json(res, 202, { triggered: true, ref: verdict.ref });
    }
  }

  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (!route) return json(res, 404, { error: `no such endpoint: ${path}` });
    const handler = route[req.method ?? 'GET'];
    if (!handler) {
      res.setHeader('Allow', Object.keys(route).join(', '));
      return json(res, 405, { error: `${req.method} is not allowed on ${path}` });
    }
    Promise.resolve(handler(req, res)).catch((err: unknown) => json(res, 500, { error: redactSecrets(err instanceof Error ? err.message : String(err), secrets) }));
  });
}

/** Ready once a pass has read the config repo, while the providers answer; undefined when ready. */
function notReady(reconciler: Reconciler): string | undefined {
  const report = reconciler.report;
  if (!report) return 'no pass has run yet';
  if (!reconciler.desired) return `the config repo has not been read yet: ${report.message ?? report.result}`;
  if (report.reasons.includes('ObserveFailed')) return report.message ?? 'a provider cannot be observed';
  return undefined;
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
