// Drives the real Reconciler over one provider through the passes bench/providers reports: the first pass
// over N clusters, no-op passes, and one cluster gaining a port, losing it again and turning public.
// Each pass must converge; a no-op pass that writes anything is a failure, not a figure.
import { Reconciler } from '../../agent/engine/pass.js';
import type { Cloud } from '../../agent/model.js';
import type { Provider } from '../../agent/providers/provider.js';
import { createRenderer } from '../../agent/render/index.js';
import { MemoryRepo, silentLog } from '../../test/helpers/agent-fixture.js';
import { median } from './machine.js';

/** What a provider case counts at its wire (or nft) edge. `requests` undefined: the edge has no reads to count. */
export interface Counter {
  writes(): number;
  requests(): number | undefined;
  clear(): void;
}

export interface ProviderCase {
  label: string;
  cloud: Cloud;
  provider: Provider;
  counter: Counter;
  /** A manifest for cluster `name` with `ports` as a YAML flow list. */
  manifest(name: string, ports: string): string;
  settings?: string;
  close(): Promise<void>;
}

export const PORTS = { base: '[8080, 8443]', added: '[8080, 8443, 9090]', publicAll: '["+tcp:8080", "+tcp:8443"]' } as const;

export interface PassFigures {
  ms: number;
  writes: number;
  requests: number | undefined;
}

export interface ProviderFigures {
  first: PassFigures;
  noop: PassFigures;
  /** The most writes any of the no-op passes made (0 is the aim). */
  noopMaxWrites: number;
  addPort: PassFigures;
  removePort: PassFigures;
  exposure: PassFigures;
}

const NOOP_PASSES = 5;

export async function measureProvider(c: ProviderCase, clusters: number): Promise<ProviderFigures> {
  const files: Record<string, string> = {};
  if (c.settings) files['config.yaml'] = c.settings;
  for (let i = 0; i < clusters; i++) files[`clusters/c${i}.yaml`] = c.manifest(`c${i}`, PORTS.base);
  const repo = new MemoryRepo(files);
  const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { [c.cloud]: c.provider }, log: silentLog });

  const pass = async (what: string, expectChanges: boolean): Promise<PassFigures> => {
    c.counter.clear();
    const started = performance.now();
    const report = await reconciler.pass(['bench' as never]);
    const ms = performance.now() - started;
    if (report.result !== 'converged') throw new Error(`${c.label}: ${what}: pass ${report.result}: ${report.message ?? ''} ${report.outcomes.map((o) => o.error ?? '').join('; ')}`);
    if (expectChanges !== report.outcomes.length > 0) throw new Error(`${c.label}: ${what}: ${report.outcomes.length} changes, expected ${expectChanges ? 'some' : 'none'}`);
    return { ms, writes: c.counter.writes(), requests: c.counter.requests() };
  };
  const change = (ports: string) => repo.write({ 'clusters/c0.yaml': c.manifest('c0', ports) });

  const first = await pass('first pass', true);
  const noops: PassFigures[] = [];
  for (let i = 0; i < NOOP_PASSES; i++) noops.push(await pass('no-op pass', false));
  const noopMs = median(noops.map((n) => n.ms));
  const noop = noops.find((n) => n.ms === noopMs)!;
  change(PORTS.added);
  const addPort = await pass('add a port', true);
  change(PORTS.base);
  const removePort = await pass('remove a port', true);
  change(PORTS.publicAll);
  const exposure = await pass('change exposure', true);
  return { first, noop, noopMaxWrites: Math.max(...noops.map((n) => n.writes)), addPort, removePort, exposure };
}
