import type { Cluster, Position, Problem, Settings, Snapshot } from '../model.js';
import { readCluster } from './cluster.js';
import { oneLine } from './format-problem.js';
import { loadSettings, SETTINGS_FILE, type SettingsSource } from './settings.js';
import { parseYamlFile } from './yaml-file.js';

export interface LoadedRepo {
  settings: Settings;
  settingsOk: boolean;
  clusters: Cluster[];
  problems: Problem[];
  brokenFiles: string[];
  brokenClusters: string[];
}

export interface LoadOptions {
  /** The admin's `--config FILE`, which wins over the repo's config.yaml. */
  adminSettings?: SettingsSource;
}

export function isClusterFile(path: string): boolean {
  return path.startsWith('clusters/') && /\.ya?ml$/.test(path);
}

/**
 * Git trees can be crafted with `..` entries or names with line breaks (git fsck refuses them, git does not):
 * such a name is read from git's objects, never from disk, but it would print as a misleading position.
 */
export function isPlainPath(path: string): boolean {
  return !/[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/.test(path) && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** load + check: every file of the snapshot, every problem found in one run, clusters sorted by name. */
export function loadRepo(snapshot: Snapshot, options: LoadOptions = {}): LoadedRepo {
  const problems: Problem[] = [...snapshot.problems];
  const repoSettings = snapshot.files.get(SETTINGS_FILE);
  const sources: SettingsSource[] = [];
  if (repoSettings !== undefined) sources.push({ file: SETTINGS_FILE, text: repoSettings });
  if (options.adminSettings) sources.push(options.adminSettings);
  const settingsResult = loadSettings(sources);
  problems.push(...settingsResult.problems);

  const brokenFiles = new Set<string>(snapshot.problems.map((p) => p.at.file));
  const brokenClusters = new Set<string>();
  const byName = new Map<string, { cluster?: Cluster; at: Position }>();
  const files = [...snapshot.files.keys()].filter(isClusterFile).sort();

  for (const file of files) {
    if (!isPlainPath(file)) {
      const message = 'the file name is not a plain path in the repo (a `..` or `.` part, an empty part, a backslash or a control character): rename the file';
      problems.push({ code: 'FILE_UNREADABLE', severity: 'error', message, at: { file, line: 1, col: 1 } });
      brokenFiles.add(file);
      continue;
    }
    const parsed = parseYamlFile(file, snapshot.files.get(file)!);
    problems.push(...parsed.problems);
    if (parsed.problems.length > 0) brokenFiles.add(file);
    for (const doc of parsed.docs) {
      const result = readCluster(doc, settingsResult.settings);
      problems.push(...result.problems);
      // A document with an error may also have lost or changed the name it had (`name: web` edited to
      // `name: aweb` along with a typo): every cluster the file held before keeps its state.
      if (result.problems.length > 0) brokenFiles.add(file);
      if (result.name === undefined) continue;
      const first = byName.get(result.name);
      if (first) {
        problems.push({
          code: 'DUPLICATE_CLUSTER',
          severity: 'error',
          message: `cluster '${result.name}' is also defined at ${first.at.file}:${first.at.line}:${first.at.col}: cluster names must be unique across the repo, rename one`,
          at: doc.locate(['name']),
          cluster: result.name,
        });
        brokenClusters.add(result.name);
        brokenFiles.add(file);
        continue;
      }
      byName.set(result.name, { ...(result.cluster ? { cluster: result.cluster } : {}), at: doc.locate(['name']) });
      if (!result.cluster) brokenClusters.add(result.name);
    }
  }

  // Settings shape every cluster's resources: acting on guessed settings could close ports, so nothing is trusted.
  if (!settingsResult.ok) for (const file of files) brokenFiles.add(file);

  const clusters: Cluster[] = [];
  for (const [name, entry] of byName) {
    if (entry.cluster && !brokenClusters.has(name) && settingsResult.ok) clusters.push(entry.cluster);
  }
  clusters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    settings: settingsResult.settings,
    settingsOk: settingsResult.ok,
    clusters,
    // A message that quotes a value must still print as one line, whichever check wrote it.
    problems: problems.map((p) => ({ ...p, message: oneLine(p.message) })),
    brokenFiles: [...brokenFiles].sort(),
    brokenClusters: [...brokenClusters].sort(),
  };
}
