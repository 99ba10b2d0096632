import { isClusterFile, loadRepo, type LoadedRepo, type LoadOptions } from '../manifest/load.js';
import { SETTINGS_FILE, type SettingsSource } from '../manifest/settings.js';
import type { Cluster, DesiredState, Problem, Resource, Snapshot, Violation } from '../model.js';
import { admit, admitSync, type Admission } from '../policy/engine.js';
import { violationProblem } from '../policy/engine.js';
import { readPolicyEntries, type PolicyEntry } from '../policy/entries.js';
import { resolveBuiltins, resolvePolicies, type Chain, type LoaderOptions } from '../policy/loader.js';
import type { PolicyPurpose, PolicyRequest } from '../policy/types.js';
import type { Renderer } from '../render/index.js';

export interface DesiredOptions extends LoadOptions {
  /** What the admin policies are told the request is for; default `validate`. */
  purpose?: PolicyPurpose;
}

/**
 * The pure half of a pass: load → check → admit → render. Data in, data out: no I/O, no clock.
 * Only built-in admin policies run here (they are pure); an `admin_policy` naming a module or a URL is a
 * problem, and `admittedDesiredState` is the one to call. A cluster an enforce policy rejects, or whose
 * rendering fails, is reported and treated like a broken manifest (it keeps its last good state).
 */
export function desiredState(snapshot: Snapshot, renderer: Renderer, options: DesiredOptions = {}): DesiredState {
  const loaded = loadRepo(snapshot, options);
  const read = policyEntries(snapshot, loaded, options.adminSettings);
  const resolved = read.problems.length > 0 ? { chain: [], problems: [] } : resolveBuiltins(read.entries);
  const configProblems = [...read.problems, ...resolved.problems];
  const admissions = configProblems.length > 0 ? [] : loaded.clusters.map((c) => admitSync(resolved.chain, request(c, loaded, snapshot, options)));
  return finish(snapshot, loaded, configProblems, admissions, renderer);
}

/**
 * The same with every kind of admin policy: modules are imported and REST policies called (I/O, so
 * async), at the edges — the commands and the Reconciler. The policies run over the clusters the pure
 * load produced; rendering afterwards is pure again.
 */
export async function admittedDesiredState(snapshot: Snapshot, renderer: Renderer, options: DesiredOptions & LoaderOptions = {}): Promise<DesiredState> {
  const loaded = loadRepo(snapshot, options);
  const read = policyEntries(snapshot, loaded, options.adminSettings);
  const resolved = read.problems.length > 0 || read.entries.length === 0 ? { chain: [], problems: [] } : await resolvePolicies(read.entries, snapshot.revision, options);
  const configProblems = [...read.problems, ...resolved.problems];
  const admissions = configProblems.length > 0 ? [] : await Promise.all(loaded.clusters.map((c) => admit(resolved.chain, request(c, loaded, snapshot, options))));
  return finish(snapshot, loaded, configProblems, admissions, renderer);
}

/**
 * The admin-policy chain a revision's settings name, resolved (for the live audit, which runs it over
 * what providers hold). Empty, with problems, when it cannot be read or loaded.
 */
export async function policyChainOf(snapshot: Snapshot, options: DesiredOptions & LoaderOptions = {}): Promise<Chain> {
  const loaded = loadRepo(snapshot, options);
  const read = policyEntries(snapshot, loaded, options.adminSettings);
  if (read.problems.length > 0) return { chain: [], problems: read.problems };
  return resolvePolicies(read.entries, snapshot.revision, options);
}

function request(cluster: Cluster, loaded: LoadedRepo, snapshot: Snapshot, options: DesiredOptions): PolicyRequest {
  return { cluster, settings: loaded.settings, revision: snapshot.revision, purpose: options.purpose ?? 'validate' };
}

/** The entries of `admin_policy`, with their positions; none when the settings themselves failed (nothing is trusted then). */
function policyEntries(snapshot: Snapshot, loaded: LoadedRepo, adminSettings: SettingsSource | undefined): { entries: PolicyEntry[]; problems: Problem[] } {
  if (!loaded.settingsOk || loaded.settings.admin_policy === undefined) return { entries: [], problems: [] };
  const sources: SettingsSource[] = [];
  const repoSettings = snapshot.files.get(SETTINGS_FILE);
  if (repoSettings !== undefined) sources.push({ file: SETTINGS_FILE, text: repoSettings });
  if (adminSettings) sources.push(adminSettings);
  return readPolicyEntries(sources, adminSettings);
}

/**
 * Renders the admitted clusters. Policies that cannot be loaded fail closed: like settings with an error,
 * no cluster is trusted and every one keeps its last good state.
 */
function finish(snapshot: Snapshot, loaded: LoadedRepo, configProblems: Problem[], admissions: Admission[], renderer: Renderer): DesiredState {
  const problems: Problem[] = [...loaded.problems, ...configProblems];
  const brokenClusters = new Set(loaded.brokenClusters);
  const violations: Violation[] = [];
  const clusters: Cluster[] = [];
  const resources: Resource[] = [];
  const policiesOk = configProblems.length === 0;
  if (policiesOk) {
    for (const admission of admissions) {
      const { cluster, settings } = admission.request;
      violations.push(...admission.violations);
      for (const v of admission.violations) {
        const problem = violationProblem(v);
        if (problem) problems.push(problem);
      }
      if (admission.denied) {
        brokenClusters.add(cluster.name);
        continue;
      }
      const rendered = renderer.render(cluster, settings);
      if (rendered.problems.length > 0) {
        problems.push(...rendered.problems);
        brokenClusters.add(cluster.name);
        continue;
      }
      clusters.push(cluster);
      for (const resource of rendered.resources) resources.push(resource);
    }
  }
  const brokenFiles = policiesOk ? loaded.brokenFiles : [...new Set([...loaded.brokenFiles, ...[...snapshot.files.keys()].filter(isClusterFile)])].sort();
  return {
    revision: snapshot.revision,
    settings: loaded.settings,
    settingsOk: loaded.settingsOk && policiesOk,
    clusters,
    resources,
    problems,
    brokenFiles,
    brokenClusters: [...brokenClusters].sort(),
    violations,
  };
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
