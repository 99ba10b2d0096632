// bench/git: what one poll of a remote config repo costs on the wire. A 1,000-cluster repo (bench/generate,
// 100 files) is served by `git daemon` behind a byte-counting TCP proxy; the agent's remote source
// (agent/source/repo-source.ts, the code `portcullis run --repo git://...` uses) clones it, then polls:
// with no new commit, and after a commit that changes one manifest file.
//   node --import tsx bench/git.bench.ts        BENCH_CLUSTERS=1000
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRepoSource } from '../agent/source/repo-source.js';
import { freePort } from '../test/helpers/agent-process.js';
import { TempGitRepo } from '../test/helpers/repo.js';
import { generateRepo } from './generate.js';
import { startCountingProxy, type Traffic } from './lib/counting-proxy.js';
import { announce, median, table } from './lib/machine.js';

const clusters = Number(process.env.BENCH_CLUSTERS ?? 1000);
const POLLS = 5;

async function startDaemon(basePath: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('git', ['daemon', '--export-all', '--reuseaddr', `--base-path=${basePath}`, `--port=${port}`, '--listen=127.0.0.1', '--informative-errors', basePath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  child.stderr!.on('data', (c: Buffer) => (said += c.toString()));
  // git daemon prints nothing when it is ready: wait until its port takes connections.
  for (let tries = 0; ; tries++) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code !== 'ECONNREFUSED',
    );
    if (up) return { port, child };
    if (child.exitCode !== null || tries > 100) throw new Error(`git daemon did not start on 127.0.0.1:${port}: ${said.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

async function main(): Promise<void> {
  announce('bench/git');
  const root = mkdtempSync(join(tmpdir(), 'portcullis-bench-git-'));
  const work = new TempGitRepo();
  let daemon: ChildProcess | undefined;
  try {
    const { files } = generateRepo(work.dir, clusters);
    work.commit('1,000 clusters');
    const bare = join(root, 'config.git');
    work.git('clone', '-q', '--bare', work.dir, bare);
    work.git('remote', 'add', 'origin', bare);
    const started = await startDaemon(root);
    daemon = started.child;
    const proxy = await startCountingProxy(started.port);
    const source = await openRepoSource({ repo: `git://127.0.0.1:${proxy.port}/config.git`, branch: 'main', cacheDir: join(root, 'cache') });

    const poll = async (): Promise<Traffic & { ms: number; revision: string; files: number }> => {
      proxy.reset();
      const t0 = performance.now();
      const snapshot = await source.snapshot();
      return { ...proxy.traffic(), ms: performance.now() - t0, revision: snapshot.revision, files: snapshot.files.size };
    };
    const rows: (string | number)[][] = [];
    const row = (what: string, t: Traffic & { ms: number }) => rows.push([what, t.connections, kib(t.up), kib(t.down), kib(t.up + t.down), t.ms.toFixed(0)]);

    const clone = await poll();
    if (clone.files < files) throw new Error(`the clone holds ${clone.files} files, expected at least ${files}`);
    row('first poll (clone)', clone);
    const idle: Awaited<ReturnType<typeof poll>>[] = [];
    for (let i = 0; i < POLLS; i++) idle.push(await poll());
    const idleMs = median(idle.map((p) => p.ms));
    row(`poll, no new commit (median of ${POLLS})`, idle.find((p) => p.ms === idleMs)!);

    const changed: Awaited<ReturnType<typeof poll>>[] = [];
    for (let i = 0; i < POLLS; i++) {
      // One manifest file (ten clusters) changes: one cluster's port moves.
      const path = join(work.dir, 'clusters', 'd0', 'f0.yaml');
      writeFileSync(path, readFileSync(path, 'utf8').replace(/"\+tcp:(\d+)"/, (_, p: string) => `"+tcp:${Number(p) + 1}"`));
      const head = work.commit(`move a port (${i})`);
      work.git('push', '-q', 'origin', 'main');
      const after = await poll();
      if (after.revision !== head) throw new Error(`the poll after a push read ${after.revision}, expected ${head}`);
      changed.push(after);
    }
    const changedMs = median(changed.map((p) => p.ms));
    row(`poll after a commit changing one file (median of ${POLLS})`, changed.find((p) => p.ms === changedMs)!);
    console.log(`${clusters} clusters in ${files} manifest files; git ${work.git('--version').replace('git version ', '')}, git:// through a counting proxy`);
    console.log(table(['poll', 'connections', 'up KiB', 'down KiB', 'total KiB', 'ms'], rows));
    await proxy.close();
  } finally {
    daemon?.kill('SIGTERM');
    work.remove();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
