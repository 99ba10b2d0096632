import type { Snapshot } from '../model.js';
import { locateGit, readRevision, SourceError } from './git-revision.js';
import { readDirectory } from './snapshot.js';

export { locateGit, readRevision, resolveCommit, SourceError, type GitLocation } from './git-revision.js';
export { readDirectory, MAX_FILE_BYTES } from './snapshot.js';

/** The config repo at `rev` (read from git, no checkout), or as it is on disk when `rev` is undefined. */
export async function openSnapshot(repo: string, rev?: string): Promise<Snapshot> {
  if (rev === undefined) return readDirectory(repo);
  const loc = await locateGit(repo);
  if (!loc) throw new SourceError(`${repo} is not inside a git repository, so --rev/--base/--head cannot be read: drop them to use the files on disk`);
  return readRevision(loc, rev);
}
