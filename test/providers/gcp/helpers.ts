// A whole agent over the GCP provider, the real @google-cloud/compute client and the Compute Engine fake.
import { OAuth2Client } from 'google-auth-library';
import { Reconciler, type PassReport } from '../../../agent/engine/pass.js';
import { createGcpProvider, type GcpProvider, type GcpProviderOptions } from '../../../agent/providers/gcp/index.js';
import { createRenderer } from '../../../agent/render/index.js';
import { fastConverge, silentLog, type MemoryRepo } from '../../helpers/agent-fixture.js';
import type { ComputeFake } from '../../fakes/compute/server.js';

/** A fixed-token client, as an emulator takes: the library then never looks for real credentials. */
export function fakeAuth(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 86_400_000 });
  return client;
}

export function gcpProvider(fake: ComputeFake, options: GcpProviderOptions = {}): GcpProvider {
  return createGcpProvider({ endpoint: fake.url, authClient: fakeAuth(), readRetry: { attempts: 3, delayMs: 1 }, env: {}, ...options });
}

export interface GcpAgent {
  reconciler: Reconciler;
  provider: GcpProvider;
  /** One pass; fails the test unless it converged. */
  converge(): Promise<PassReport>;
}

export function gcpAgent(repo: MemoryRepo, fake: ComputeFake, options: GcpProviderOptions = {}, allowMassClose = false): GcpAgent {
  const provider = gcpProvider(fake, options);
  const reconciler = new Reconciler({ source: repo, renderer: createRenderer(), providers: { gcp: provider }, log: silentLog, converge: fastConverge, allowMassClose });
  return {
    reconciler,
    provider,
    async converge() {
      const report = await reconciler.pass(['poll']);
      if (report.result !== 'converged') throw new Error(`pass ${report.result}: ${report.message ?? ''} ${report.outcomes.map((o) => o.error ?? '').join('; ')}`);
      return report;
    },
  };
}

/** A `cloud: gcp` cluster manifest; `ports` go into `resources.ports` as YAML flow items. */
export function gcpManifest(name: string, ports: (number | string)[], gcp: { project?: string; network?: string; tags?: string[] } = {}): string {
  const items = ports.map((p) => (typeof p === 'number' ? String(p) : p.startsWith('{') ? p : JSON.stringify(p)));
  const network = gcp.network ? `\n  network: ${gcp.network}` : '';
  const tags = gcp.tags ? `\n  target_tags: [${gcp.tags.join(', ')}]` : '';
  return `name: ${name}\ncloud: gcp\ngcp:\n  project: ${gcp.project ?? 'proj-one'}${network}${tags}\nresources:\n  ports: [${items.join(', ')}]\n`;
}

/** `action name` of each change a pass made, sorted. */
export const actions = (report: PassReport): string[] => report.outcomes.map((o) => `${o.change.action} ${o.change.name}`).sort();
