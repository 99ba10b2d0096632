import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding package.json, schemas/ and templates/, whether we run from agent/ (tsx) or dist/agent/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'schemas'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the portcullis package root (package.json next to schemas/)');
    dir = parent;
  }
  root = dir;
  return root;
}

export const schemasDir = (): string => join(packageRoot(), 'schemas');
export const templatesDir = (): string => join(packageRoot(), 'templates');
