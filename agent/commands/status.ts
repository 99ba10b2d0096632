import type { ClusterStatus } from '../engine/status.js';
import type { Endpoint } from '../providers/provider.js';
import { UsageError, type Io } from './io.js';

export interface StatusOptions {
  agent: string;
  endpoints?: boolean;
  format?: 'table' | 'json';
}

interface StatusResponse {
  revision: string | null;
  lastPass: { result: string; message: string | null } | null;
  clusters: ClusterStatus[];
}

/** Asks a running agent (`portcullis run`) for its clusters and prints them as kubectl prints resources. */
export async function status(options: StatusOptions, io: Io): Promise<number> {
  const url = `${options.agent.replace(/\/+$/, '')}/api/status`;
  let body: StatusResponse;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as StatusResponse;
  } catch (err) {
    throw new UsageError(`cannot reach the agent at ${url} (${err instanceof Error ? err.message : String(err)}): is \`portcullis run\` running? Point at it with --agent URL`);
  }
  if (options.format === 'json') {
    io.out(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  io.out(statusTable(body.clusters, options.endpoints ?? false));
  if (body.lastPass) io.out(`\nrevision ${body.revision ?? '-'}, last pass ${body.lastPass.result}${body.lastPass.message ? `: ${body.lastPass.message}` : ''}\n`);
  return 0;
}

export function statusTable(clusters: readonly ClusterStatus[], endpoints: boolean): string {
  const header = ['CLUSTER', 'CLOUD', 'ADDRESS', 'STATE', 'PORTS', ...(endpoints ? ['ENDPOINTS'] : [])];
  const rows = clusters.map((c) => [
    c.name,
    c.cloud,
    c.target,
    c.state,
    c.ports.join(',') || '<none>',
    ...(endpoints ? [c.endpoints.map(endpointText).join(',') || '<none>'] : []),
  ]);
  return table([header, ...rows]);
}

function endpointText(e: Endpoint): string {
  if (e.state === 'pending') return `${e.protocol}/${e.ports} <pending>`;
  return `${e.address}/${e.protocol}${e.via && e.exposure === 'private' ? ` (via ${e.via})` : ''}`;
}

/** Columns padded to their widest cell, three spaces apart, as kubectl prints them. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}
