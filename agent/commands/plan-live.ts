import { createAgent } from '../agent.js';
import { planBetween } from '../engine/diff.js';
import { createLogger } from '../log.js';
import type { Cluster, Plan, PortSpec, ResourceChange, Settings } from '../model.js';
import { liveClusters } from '../policy/live.js';
import { readDirectory } from '../source/index.js';
import { printProblems, readAdminSettings, type Io } from './io.js';
import { renderPlan, type PlanOptions } from './plan.js';

/**
 * `plan --live`: the port changes between what the providers hold now and the repo on disk — what the
 * next `apply` would do, drift included. It runs a pass that may not write (as a standby replica does),
 * so the changes are the engine's own; the port view shows only the clusters that pass would touch.
 * Exit 1 on problems, on an enforce denial, or when a provider cannot be observed.
 */
export async function planLive(options: PlanOptions, io: Io): Promise<number> {
  const adminSettings = await readAdminSettings(options.config);
  const agent = await createAgent({
    repo: options.repo,
    readOnly: true,
    log: createLogger({ level: 'silent' }),
    ...(adminSettings ? { adminSettings } : {}),
    ...(options.templates ? { templates: options.templates } : {}),
    ...(options.clouds ? { clouds: options.clouds } : {}),
    ...(options.nodeBackend ? { nodeBackend: options.nodeBackend } : {}),
    ...(options.nftNetns ? { nftNetns: options.nftNetns } : {}),
    ...(options.allowRepoPolicies ? { policies: { repoDir: options.repo, allowRepoPolicies: true } } : {}),
  });
  try {
    const report = await agent.pass(['startup']);
    const desired = agent.reconciler.desired;
    if (!desired || report.reasons.includes('SourceFailed') || report.reasons.includes('ObserveFailed')) {
      io.err(`portcullis: cannot plan against live state: ${report.message ?? 'the pass did not run'}\n`);
      return 1;
    }
    const result = livePlan(report.pending ?? [], [...agent.reconciler.held.values()].flat(), desired.clusters, desired.settings, desired.revision);
    result.problems = desired.problems;
    if (desired.violations) result.violations = desired.violations;
    if (options.format === undefined || options.format === 'text') printProblems(io, desired.problems, new Map((await readDirectory(options.repo)).files));
    io.out(renderPlan(result, options.format, ''));
    return report.result === 'standby' && !desired.problems.some((p) => p.severity === 'error') ? 0 : 1;
  } finally {
    await agent.close();
  }
}

/**
 * Port-level changes of the clusters with resource changes: their live ports (as the providers hold
 * them) against Git's. Clusters the engine would not touch are left out, so defaults that read
 * differently on both sides (a private port's CIDRs) cannot show as changes.
 */
export function livePlan(pending: readonly ResourceChange[], held: Parameters<typeof liveClusters>[0], declared: readonly Cluster[], settings: Settings, revision: string): Plan {
  const touched = new Set(pending.map((c) => c.cluster));
  const live = liveClusters(held.filter((r) => touched.has(r.cluster)), declared);
  const wanted = declared.filter((c) => touched.has(c.name)).map((c) => ({ ...c, ports: c.ports.map((p) => withDefaultSources(p, settings)) }));
  return planBetween({ revision: 'live', clusters: live }, { revision, clusters: wanted });
}

/** A private spec without `cidrs` is open to `private_cidrs`: say so, as the live side does. */
function withDefaultSources(spec: PortSpec, settings: Settings): PortSpec {
  return spec.exposure === 'private' && spec.cidrs.length === 0 ? { ...spec, cidrs: [...settings.private_cidrs].sort() } : spec;
}
