// bench/pipeline: load + check + render + diff of a generated config repo, next to the floor of merely
// reading and YAML-parsing the same files. Each measurement runs in its own process (pipeline-child.mjs,
// over the compiled agent) so its peak RSS is its own.
//   npm run bench                      (all benchmarks; builds first)
//   npm run build && node --import tsx bench/pipeline.bench.ts [clusters...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRepo } from './generate.js';

type Mode = 'floor' | 'pipeline';
interface Figures {
  ms: number;
  maxRssMb: number;
  clusters: number;
  resources: number;
  changes: number;
}

const childScript = fileURLToPath(new URL('./pipeline-child.mjs', import.meta.url));

function child(mode: Mode, dir: string, baseDir: string): Figures {
  const out = execFileSync(process.execPath, [childScript, mode, dir, baseDir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Figures;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
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
