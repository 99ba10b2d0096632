// A proxy between the real EC2 client and an EC2 server (moto): it counts requests by Action, read from the
// form-encoded body of the EC2 Query protocol, and on demand answers the next N requests of an Action with an
// EC2 error (RequestLimitExceeded, a 5xx, any code) or delays them, before they reach the server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Every EC2 action that changes something, as counted for "a no-op pass writes nothing". */
export const WRITE_ACTIONS = [
  'CreateSecurityGroup',
  'DeleteSecurityGroup',
  'AuthorizeSecurityGroupIngress',
  'RevokeSecurityGroupIngress',
  'AuthorizeSecurityGroupEgress',
  'RevokeSecurityGroupEgress',
  'ModifyInstanceAttribute',
  'ModifyNetworkInterfaceAttribute',
  'ModifySecurityGroupRules',
  'CreateTags',
  'DeleteTags',
] as const;

export type Fault =
  | { kind: 'throttle' }
  | { kind: 'server-error'; status?: number }
  | { kind: 'error'; code: string; status?: number; message?: string }
  | { kind: 'delay'; ms: number };

export interface Recorded {
  action: string;
  params: URLSearchParams;
  /** Whether a fault answered it instead of the server. */
  faulted: boolean;
}

export class Ec2Proxy {
  readonly requests: Recorded[] = [];
  /** Told of each request as it arrives, before it is forwarded (a test may stop the client there). */
  onRequest: ((request: Recorded) => void) | undefined;
  private readonly faults: { action: string; remaining: number; fault: Fault }[] = [];
  private server?: http.Server;
  private port = 0;

  constructor(private readonly upstream: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `times` requests of `action` (`*`: of any action) meet `fault`. */
  inject(action: string, fault: Fault, times = 1): void {
    this.faults.push({ action, remaining: times, fault });
  }

  /** Forgets counts and pending faults: a test measures from here. */
  clear(): void {
    this.requests.length = 0;
    this.faults.length = 0;
  }

  count(action: string): number {
    return this.requests.filter((r) => r.action === action).length;
  }

  /** Write requests by action (those a fault answered included: the client did send them). */
  writes(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) if ((WRITE_ACTIONS as readonly string[]).includes(r.action)) counts[r.action] = (counts[r.action] ?? 0) + 1;
    return counts;
  }

  totalWrites(): number {
    return Object.values(this.writes()).reduce((a, b) => a + b, 0);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const params = new URLSearchParams(req.method === 'POST' ? body.toString('utf8') : (req.url ?? '').split('?')[1] ?? '');
    const action = params.get('Action');
    let fault: Fault | undefined;
    if (action) {
      const pending = this.faults.find((f) => (f.action === action || f.action === '*') && f.remaining > 0);
      if (pending) {
        pending.remaining--;
        fault = pending.fault;
      }
      const recorded = { action, params, faulted: fault !== undefined && fault.kind !== 'delay' };
      this.requests.push(recorded);
      this.onRequest?.(recorded);
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    else if (fault) return answerFault(res, fault);
    this.forward(req, body, res);
  }

  private forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const target = new URL(req.url ?? '/', this.upstream);
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    const upstream = http.request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    upstream.end(body);
  }
}

function answerFault(res: http.ServerResponse, fault: Exclude<Fault, { kind: 'delay' }>): void {
  const { code, status, message } =
    fault.kind === 'throttle'
      ? { code: 'RequestLimitExceeded', status: 503, message: 'Request limit exceeded.' }
      : fault.kind === 'server-error'
        ? { code: 'InternalError', status: fault.status ?? 500, message: 'An internal error has occurred.' }
        : { code: fault.code, status: fault.status ?? 400, message: fault.message ?? `injected ${fault.code}` };
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>ec2-proxy-fault</RequestID></Response>`;
  res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': String(Buffer.byteLength(xml)) });
  res.end(xml);
}

export async function startEc2Proxy(upstream: string): Promise<Ec2Proxy> {
  return new Ec2Proxy(upstream).start();
}
