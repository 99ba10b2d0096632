import { createAgent } from '../agent.js';
import { admittedDesiredState, policyChainOf } from '../engine/desired.js';
import { createLogger } from '../log.js';
import type { Cloud, Resource, Violation } from '../model.js';
import { openSnapshot } from '../source/index.js';
import { auditLive, auditSummary } from '../policy/audit.js';
import { violationJson } from '../policy/format.js';
import { createRenderer } from '../render/index.js';
import type { ProviderScope } from '../providers/provider.js';
import type { AgentCommandOptions } from './run.js';
import { printProblems, readAdminSettings, type Io } from './io.js';
import { table } from './status.js';

export interface AuditOptions extends Pick<AgentCommandOptions, 'repo' | 'config' | 'templates' | 'clouds' | 'nodeBackend' | 'nodeListen' | 'nftNetns'> {
  allowRepoPolicies?: boolean;
  format?: 'table' | 'json';
}

/**
 * Runs the admin policies over what the providers actually hold: a port someone opened by hand on an
 * object portcullis owns (a public 22 on its Service, say) is found even though no manifest asks for it.
 * Observes only, never writes. Exit status 1 when an enforce policy is violated.
 */
export async function audit(options: AuditOptions, io: Io): Promise<number> {
  const adminSettings = await readAdminSettings(options.config);
  const loader = { repoDir: options.repo, ...(options.allowRepoPolicies ? { allowRepoPolicies: true } : {}), ...(adminSettings ? { adminSettings } : {}) };
  const snapshot = await openSnapshot(options.repo);
  const desired = await admittedDesiredState(snapshot, createRenderer({ templatesDir: options.templates }), { ...loader, purpose: 'audit' });
  const { chain, problems } = await policyChainOf(snapshot, loader);
  if (problems.length > 0 || !desired.settingsOk) {
    printProblems(io, problems.length > 0 ? problems : desired.problems, new Map(snapshot.files));
    return 1;
  }
  const clouds: Cloud[] = options.clouds ?? [...new Set(desired.clusters.map((c) => c.cloud))].sort();
  const agent = await createAgent({
    repo: options.repo,
    readOnly: true,
    log: createLogger(),
    ...(adminSettings ? { adminSettings } : {}),
    ...(options.templates ? { templates: options.templates } : {}),
    clouds,
    ...(options.nodeBackend ? { nodeBackend: options.nodeBackend } : {}),
    ...(options.nodeListen ? { nodeListen: options.nodeListen } : {}),
    ...(options.nftNetns ? { nftNetns: options.nftNetns } : {}),
  });
  try {
    const held: Resource[] = [];
    for (const cloud of clouds) {
      const provider = agent.providers[cloud]!;
      const scope: ProviderScope = { settings: desired.settings, revision: snapshot.revision, clusters: desired.clusters.filter((c) => c.cloud === cloud), known: [] };
      held.push(...(await provider.observe(scope)));
    }
    const violations = await auditLive(chain, held, desired.clusters, desired.settings, snapshot.revision);
    if (options.format === 'json') io.out(`${JSON.stringify({ revision: snapshot.revision, resources: held.length, violations: violations.map(violationJson) }, null, 2)}\n`);
    else io.out(`${violations.length > 0 ? `${violationTable(violations)}\n` : ''}${auditSummary(violations)} (${held.length} resources observed on ${clouds.join(', ') || 'no cloud'})\n`);
    return violations.some((v) => v.mode === 'enforce') ? 1 : 0;
  } finally {
    await agent.close();
  }
}

export function violationTable(violations: readonly Violation[]): string {
  const rows = violations.map((v) => [v.cluster, `${v.policy}/${v.rule}`, v.mode, v.port !== undefined ? `${v.protocol ?? 'tcp'}/${v.port}` : '-', v.at.line > 0 ? `${v.at.file}:${v.at.line}` : v.at.file, v.message]);
  return table([['CLUSTER', 'POLICY/RULE', 'MODE', 'PORT', 'WHERE', 'MESSAGE'], ...rows]);
}
