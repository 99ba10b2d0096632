import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseAllDocuments } from 'yaml';
import { generateRepo } from './bench/generate.js';
import { desiredState } from './agent/engine/desired.js';
import { createRenderer } from './agent/render/index.js';
import { readDirectory } from './agent/source/index.js';
const dir = mkdtempSync(join(tmpdir(), 'pc-'));
generateRepo(dir, 10000, 1);
function* walk(d: string): Generator<string> { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) yield* walk(p); else yield p; } }
const mode = process.argv[2];
if (mode === 'floor') {
  const t0 = performance.now(); let n = 0;
  for (const f of walk(join(dir, 'clusters'))) for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) if (doc.toJS()) n++;
  console.log('floor', (performance.now() - t0).toFixed(0), n);
} else {
  const r = createRenderer();
  const snap = await readDirectory(dir);
  const t0 = performance.now();
  const d = desiredState(snap, r);
  const t1 = performance.now();
  console.log('load+render', (t1 - t0).toFixed(0), d.clusters.length, d.resources.length, d.problems.length, d.problems[0]?.message);
  const noop = { render: () => ({ resources: [], problems: [] }) };
  const t2 = performance.now();
  desiredState(snap, noop);
  console.log('load only', (performance.now() - t2).toFixed(0));
  const t3 = performance.now();
  desiredState(snap, r);
  console.log('load+render again', (performance.now() - t3).toFixed(0));
}
rmSync(dir, { recursive: true });
