// bench/pipeline: load + check + render + diff of a generated config repo, next to the floor of merely
// reading and YAML-parsing the same files. Each measurement runs in its own process (pipeline-child.mjs,
// over the compiled agent) so its peak RSS is its own.
//   npm run bench                      (all benchmarks; builds first)
//   npm run build && node --import tsx bench/pipeline.bench.ts [clusters...]
//   BENCH_SIZES=1000,10000 npm run bench   (default sizes: 1,000, 10,000 and 50,000 clusters)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRepo } from './generate.js';
import { announce, table } from './lib/machine.js';

type Mode = 'floor' | 'pipeline';
interface Figures {
  ms: number;
  maxRssMb: number;
  clusters: number;
  resources: number;
  changes: number;
}

const childScript = fileURLToPath(new URL('./pipeline-child.mjs', import.meta.url));

/** One measurement in its own process; a child that dies (out of memory, say) is a finding, not a crash. */
function child(mode: Mode, dir: string, baseDir: string): Figures | string {
  const run = spawnSync(process.execPath, [childScript, mode, dir, baseDir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status === 0) return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Figures;
  const why = run.stderr.split('\n').find((l) => /heap|memory|Error/.test(l)) ?? run.stderr.trim().split('\n').at(-1) ?? '';
  return `${mode} ${run.signal ? `killed by ${run.signal}` : `exited ${run.status}`}: ${why.trim()}`;
}

function sizes(): number[] {
  const args = process.argv.slice(2);
  const list = args.length > 0 ? args : (process.env.BENCH_SIZES ?? '1000,10000,50000').split(',');
  const numbers = list.map((s) => Number(s.trim()));
  const bad = list.find((s, i) => !Number.isInteger(numbers[i]) || numbers[i]! <= 0);
  if (bad !== undefined) throw new Error(`bench/pipeline: cluster count '${bad}' is not a positive integer (BENCH_SIZES=1000,10000 or arguments)`);
  return numbers;
}

async function main(): Promise<void> {
  announce('bench/pipeline');
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  let previous: { n: number; ms: number } | undefined;
  for (const n of sizes()) {
    const root = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
    try {
      const headDir = join(root, 'head');
      const baseDir = join(root, 'base');
      const { specs } = generateRepo(headDir, n, 1);
      generateRepo(baseDir, n, 0);
      const floor = child('floor', headDir, baseDir);
      const pipeline = child('pipeline', headDir, baseDir);
      if (typeof floor === 'string' || typeof pipeline === 'string') {
        rows.push([n, specs, typeof floor === 'string' ? 'failed' : (floor.ms / 1000).toFixed(2), typeof pipeline === 'string' ? 'failed' : (pipeline.ms / 1000).toFixed(2), '-', '-', '-', '-', '-']);
        notes.push(`${n} clusters: ${[floor, pipeline].filter((f) => typeof f === 'string').join('; ')}`);
        continue;
      }
      if (floor.clusters !== n || pipeline.clusters !== n) throw new Error(`expected ${n} clusters, floor saw ${floor.clusters}, pipeline ${pipeline.clusters}`);
      // Growth: how much the time per cluster changed from the previous size (1.00 = linear).
      const growth = previous ? (pipeline.ms / n / (previous.ms / previous.n)).toFixed(2) : '-';
      rows.push([
        n,
        specs,
        (floor.ms / 1000).toFixed(2),
        (pipeline.ms / 1000).toFixed(2),
        (pipeline.ms / floor.ms).toFixed(2),
        ((pipeline.ms * 1000) / n).toFixed(0),
        growth,
        floor.maxRssMb.toFixed(0),
        pipeline.maxRssMb.toFixed(0),
      ]);
      notes.push(`${n} clusters: ${pipeline.resources} resources rendered, ${pipeline.changes} port and resource changes found against the base revision`);
      previous = { n, ms: pipeline.ms };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  console.log(table(['clusters', 'specs', 'floor s', 'pipeline s', 'ratio', 'us/cluster', 'growth', 'floor RSS MB', 'peak RSS MB'], rows));
  for (const note of notes) console.log(`  ${note}`);
}

await main();
