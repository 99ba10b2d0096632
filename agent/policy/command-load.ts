import { readAdminSettings, type Loaded, type RepoOptions } from '../commands/io.js';
import { admittedDesiredState } from '../engine/desired.js';
import { createRenderer } from '../render/index.js';
import { openSnapshot } from '../source/index.js';
import type { PolicyPurpose } from './types.js';

export interface PolicyCommandOptions extends RepoOptions {
  /** `--allow-repo-policies`: run policy modules committed to the config repo. */
  allowRepoPolicies?: boolean;
}

/** The desired state of the repo at `rev` (or on disk) with every admin policy run, as `validate` and `render` show it. */
export async function loadAdmitted(options: PolicyCommandOptions, rev: string | undefined, purpose: PolicyPurpose): Promise<Loaded> {
  const snapshot = await openSnapshot(options.repo, rev);
  const adminSettings = await readAdminSettings(options.config);
  const desired = await admittedDesiredState(snapshot, createRenderer({ templatesDir: options.templates }), {
    purpose,
    repoDir: options.repo,
    ...(adminSettings ? { adminSettings } : {}),
    ...(options.allowRepoPolicies ? { allowRepoPolicies: true } : {}),
  });
  const sources = new Map(snapshot.files);
  if (adminSettings) sources.set(adminSettings.file, adminSettings.text);
  return { snapshot, desired, sources };
}
