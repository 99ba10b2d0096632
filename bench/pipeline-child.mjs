// One measurement of bench/pipeline, in its own process so its peak RSS is its own. Plain JavaScript
// over the compiled agent (dist/), as `portcullis` runs in production: no TypeScript loader in the way.
//   node bench/pipeline-child.mjs floor|pipeline HEAD_DIR BASE_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const [mode, dir, baseDir] = process.argv.slice(2);

function* walk(path) {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) yield* walk(child);
    else yield child;
  }
}

let figures;
if (mode === 'floor') {
  const started = performance.now();
  let clusters = 0;
  for (const file of walk(join(dir, 'clusters'))) for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) if (doc.toJS()) clusters++;
  figures = { ms: performance.now() - started, clusters, resources: 0, changes: 0 };
} else {
  const { desiredState } = await import('../dist/agent/engine/desired.js');
  const { diffResources, planBetween } = await import('../dist/agent/engine/index.js');
  const { createRenderer } = await import('../dist/agent/render/index.js');
  const { readDirectory } = await import('../dist/agent/source/index.js');
  const renderer = createRenderer();
  // The base revision stands for what the providers hold: prepared before the clock starts.
  const base = desiredState(await readDirectory(baseDir), renderer);
  const started = performance.now();
  const head = desiredState(await readDirectory(dir), renderer);
  const plan = planBetween(base, head);
  const changes = diffResources(head.resources, base.resources).filter((c) => c.action !== 'unchanged');
  const ms = performance.now() - started;
  if (head.problems.length > 0) throw new Error(`generated repo has problems: ${head.problems[0].message}`);
  figures = { ms, clusters: head.clusters.length, resources: head.resources.length, changes: plan.changes.length + changes.length };
}
figures.maxRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify(figures)}\n`);
