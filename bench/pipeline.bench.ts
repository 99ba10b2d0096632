// bench/pipeline: load + check + render + diff of a generated config repo, next to the floor of merely
// reading and YAML-parsing the same files. Each measurement runs in its own process so peak RSS is its own.
//   npm run bench                      (all benchmarks)
//   node --import tsx bench/pipeline.bench.ts [clusters...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { desiredState } from '../agent/engine/desired.js';
import { diffResources, planBetween } from '../agent/engine/index.js';
import { createRenderer } from '../agent/render/index.js';
import { readDirectory } from '../agent/source/index.js';
import { generateRepo } from './generate.js';

type Mode = 'floor' | 'pipeline';
interface Figures {
  ms: number;
  maxRssMb: number;
  clusters: number;
  resources: number;
  changes: number;
}

async function measure(mode: Mode, dir: string, baseDir: string): Promise<Figures> {
  const started = performance.now();
  let clusters = 0;
  let resources = 0;
  let changes = 0;
  if (mode === 'floor') {
    for (const file of walk(join(dir, 'clusters'))) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) if (doc.toJS()) clusters++;
    }
  } else {
    const renderer = createRenderer();
    // The base revision is what the providers hold; it is prepared outside the timed part.
    const base = desiredState(await readDirectory(baseDir), renderer);
    const t0 = performance.now();
    const head = desiredState(await readDirectory(dir), renderer);
    const plan = planBetween(base, head);
    const resourceChanges = diffResources(head.resources, base.resources);
    clusters = head.clusters.length;
    resources = head.resources.length;
    changes = plan.changes.length + resourceChanges.filter((c) => c.action !== 'unchanged').length;
    if (head.problems.length > 0) throw new Error(`generated repo has problems: ${head.problems[0]?.message}`);
    return { ms: performance.now() - t0, maxRssMb: process.resourceUsage().maxRSS / 1024, clusters, resources, changes };
  }
  return { ms: performance.now() - started, maxRssMb: process.resourceUsage().maxRSS / 1024, clusters, resources, changes };
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

function child(mode: Mode, dir: string, baseDir: string): Figures {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, dir, baseDir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Figures;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(`${JSON.stringify(await measure(args[1] as Mode, args[2]!, args[3]!))}\n`);
    return;
  }
  const sizes = args.length > 0 ? args.map(Number) : [10_000];
  console.log(`bench/pipeline on ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log('clusters  specs   floor ms  floor MB  pipeline ms  pipeline MB  ratio  us/cluster');
  for (const n of sizes) {
    const root = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
    try {
      const headDir = join(root, 'head');
      const baseDir = join(root, 'base');
      const { specs } = generateRepo(headDir, n, 1);
      generateRepo(baseDir, n, 0);
      const floor = child('floor', headDir, baseDir);
      const pipeline = child('pipeline', headDir, baseDir);
      if (floor.clusters !== n || pipeline.clusters !== n) throw new Error(`expected ${n} clusters, floor saw ${floor.clusters}, pipeline ${pipeline.clusters}`);
      console.log(
        [
          String(n).padStart(8),
          String(specs).padStart(6),
          floor.ms.toFixed(0).padStart(10),
          floor.maxRssMb.toFixed(0).padStart(9),
          pipeline.ms.toFixed(0).padStart(12),
          pipeline.maxRssMb.toFixed(0).padStart(12),
          (pipeline.ms / floor.ms).toFixed(2).padStart(6),
          ((pipeline.ms * 1000) / n).toFixed(0).padStart(11),
        ].join(' '),
      );
      console.log(`  (${pipeline.resources} resources rendered, ${pipeline.changes} port and resource changes found)`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

await main();
