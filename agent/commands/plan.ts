import { admittedDesiredState, hasErrors } from '../engine/desired.js';
import { planBetween, planJson, planText, withLastGood } from '../engine/index.js';
import { planMarkdown } from '../engine/plan-markdown.js';
import { planSarif } from '../engine/plan-sarif.js';
import type { Cloud, Cluster, NodeBackend, Plan, Snapshot } from '../model.js';
import type { PolicyCommandOptions } from '../policy/command-load.js';
import { createRenderer } from '../render/index.js';
import { locateGit, readDirectory, readRevision, resolveCommit, type GitLocation } from '../source/index.js';
import { VERSION } from '../version.js';
import { printProblems, readAdminSettings, UsageError, type Io } from './io.js';

export interface PlanOptions extends PolicyCommandOptions {
  base?: string;
  head?: string;
  format?: 'text' | 'markdown' | 'json' | 'sarif';
  /** Compare with what the providers hold instead of another revision (plan-live.ts). */
  live?: boolean;
  clouds?: Cloud[];
  nodeBackend?: NodeBackend;
  nftNetns?: string;
}

/**
 * The port changes between two revisions of the config repo, read straight from git: no checkout, no
 * credentials. Defaults: head is the files on disk, base is HEAD (so `plan` alone shows what uncommitted
 * edits would do); with --head REV alone, base is REV's first parent (what that commit changed).
 * Admin policies run on both sides (purpose `plan`), so mutations show as the changes apply would make;
 * an enforce policy's denial at head exits 1.
 */
export async function plan(options: PlanOptions, io: Io): Promise<number> {
  if (options.live) {
    if (options.base !== undefined || options.head !== undefined) throw new UsageError('--live compares the files on disk with what the providers hold: it takes no --base or --head');
    return (await import('./plan-live.js')).planLive(options, io);
  }
  const loc = await locateGit(options.repo);
  if (!loc && (options.base !== undefined || options.head !== undefined)) {
    throw new UsageError(`${options.repo} is not inside a git repository: --base and --head need one`);
  }
  const head = options.head !== undefined && loc ? await readRevision(loc, options.head) : await readDirectory(options.repo);
  const base = loc ? await readBase(loc, options) : undefined;

  const renderer = createRenderer({ templatesDir: options.templates });
  const adminSettings = await readAdminSettings(options.config);
  const stateOptions = { purpose: 'plan' as const, repoDir: options.repo, ...(adminSettings ? { adminSettings } : {}), ...(options.allowRepoPolicies ? { allowRepoPolicies: true } : {}) };
  const headState = await admittedDesiredState(head, renderer, stateOptions);
  const baseClusters: Cluster[] = base ? (await admittedDesiredState(base, renderer, stateOptions)).clusters : [];
  // A manifest broken at head keeps the base's ports: plan shows what apply would really do.
  const { clusters, kept } = withLastGood(baseClusters, headState);
  const result = planBetween({ revision: base?.revision ?? '(none)', clusters: baseClusters }, { revision: head.revision, clusters }, headState.problems);
  if (headState.violations) result.violations = headState.violations;

  if (options.format === undefined || options.format === 'text') {
    const sources = new Map(head.files);
    if (adminSettings) sources.set(adminSettings.file, adminSettings.text);
    printProblems(io, headState.problems, sources);
    for (const name of kept) io.err(`note: cluster '${name}' keeps its current ports until its manifest is fixed\n`);
  }
  io.out(renderPlan(result, options.format, loc?.prefix ?? ''));
  return hasErrors(headState.problems) ? 1 : 0;
}

/** One plan model, four views (problems of the text view are printed apart, to stderr). */
export function renderPlan(result: Plan, format: PlanOptions['format'], uriPrefix: string): string {
  switch (format) {
    case 'json':
      return planJson(result);
    case 'markdown':
      return planMarkdown(result);
    case 'sarif':
      return planSarif(result, { version: VERSION, uriPrefix });
    default:
      return planText(result);
  }
}

async function readBase(loc: GitLocation, options: PlanOptions): Promise<Snapshot | undefined> {
  if (options.base !== undefined) return readRevision(loc, options.base);
  const fallback = options.head !== undefined ? `${options.head}^` : 'HEAD';
  // A repo with no commits yet, or a root commit: everything in head is new.
  const exists = await resolveCommit(loc, fallback).then(
    () => true,
    () => false,
  );
  return exists ? readRevision(loc, fallback) : undefined;
}
