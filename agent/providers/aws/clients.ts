import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { proxyAgents } from '../proxy.js';

// One pair of EC2 clients per region, made on first use and kept. Reads retry inside the SDK (observe is not
// retried by the engine, and reads are idempotent); writes are tried once, because the engine retries the
// whole change with backoff and a change must not be written twice behind its back.

export interface ClientOptions {
  /** An EC2-compatible endpoint (`http://127.0.0.1:5000`); default the SDK's own for the region. */
  endpoint?: string;
  /** Default: the standard AWS chain (environment, profile, SSO, web identity, instance role). */
  credentials?: EC2ClientConfig['credentials'];
  /** Tries per read call, the first included. */
  readAttempts: number;
  /** Time allowed for one HTTP request before it counts as failed (transient). */
  requestTimeoutMs: number;
  /** Where HTTP(S)_PROXY and NO_PROXY are read. */
  env?: Record<string, string | undefined>;
}

export class Ec2Clients {
  private readonly clients = new Map<string, { read: EC2Client; write: EC2Client }>();

  constructor(private readonly options: ClientOptions) {}

  read(region: string): EC2Client {
    return this.pair(region).read;
  }

  write(region: string): EC2Client {
    return this.pair(region).write;
  }

  private pair(region: string): { read: EC2Client; write: EC2Client } {
    let pair = this.clients.get(region);
    if (!pair) {
      const base: EC2ClientConfig = {
        region,
        // Without throwOnRequestTimeout the SDK only warns about a request that outlasts its timeout, and waits on.
        requestHandler: {
          requestTimeout: this.options.requestTimeoutMs,
          throwOnRequestTimeout: true,
          connectionTimeout: Math.min(this.options.requestTimeoutMs, 5_000),
          // The SDK reads no proxy variables itself: air-gapped clusters reach EC2 through HTTPS_PROXY.
          ...proxyAgents(new URL(this.options.endpoint ?? `https://ec2.${region}.amazonaws.com`), this.options.env),
        },
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      };
      pair = { read: new EC2Client({ ...base, maxAttempts: this.options.readAttempts }), write: new EC2Client({ ...base, maxAttempts: 1 }) };
      this.clients.set(region, pair);
    }
    return pair;
  }

  destroy(): void {
    for (const { read, write } of this.clients.values()) {
      read.destroy();
      write.destroy();
    }
    this.clients.clear();
  }
}
