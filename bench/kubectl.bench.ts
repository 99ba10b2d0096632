// bench/kubectl: portcullis next to kubectl, putting the same Kubernetes objects on the same API server.
// N clusters (default 100) in loadbalancer mode are rendered once with `portcullis render --format yaml`;
// then each tool, on a fresh fake API server, applies them twice: the first apply creates everything, the
// second finds nothing to do. Each is a whole process (start-up, discovery, requests), timed from outside;
// requests are counted at the server. portcullis runs `portcullis apply` (observe, diff, write only what
// differs); kubectl runs `kubectl apply --server-side` and client-side `kubectl apply`, with a fresh cache.
//   npm run build && node --import tsx bench/kubectl.bench.ts      BENCH_CLUSTERS=100
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startKubeApiserver, type FakeKube } from '../test/fakes/kube-apiserver/index.js';
import { announce, table } from './lib/machine.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../dist/agent/cli.js', import.meta.url));
const clusters = Number(process.env.BENCH_CLUSTERS ?? 100);

interface Tool {
  label: string;
  /** The command for one apply; `dir` holds the config repo, the rendered YAML and a kubectl cache. */
  command(dir: string): [string, string[]];
  /** What the tool prints when everything went through, to tell a silent failure from a fast run. */
  done: RegExp;
}

const TOOLS: Tool[] = [
  { label: 'portcullis apply', command: (dir) => [process.execPath, [cli, 'apply', '--repo', join(dir, 'repo'), '--clouds', 'kubernetes']], done: /^converged: /m },
  { label: 'kubectl apply --server-side', command: (dir) => ['kubectl', ['apply', '--server-side', '-f', join(dir, 'objects.yaml'), '--cache-dir', join(dir, 'cache')]], done: /serverside-applied/ },
  { label: 'kubectl apply (client-side)', command: (dir) => ['kubectl', ['apply', '-f', join(dir, 'objects.yaml'), '--cache-dir', join(dir, 'cache')]], done: /(created|configured|unchanged)/ },
];

function writeRepo(dir: string): void {
  const repo = join(dir, 'repo');
  const files: Record<string, string> = { 'config.yaml': 'kubernetes:\n  ports: loadbalancer\n' };
  for (let i = 0; i < clusters; i++) {
    files[`clusters/c${i}.yaml`] = `name: c${i}\ncloud: kubernetes\nkubernetes: {namespace: bench, selector: {app: c${i}}}\nresources:\n  ports: ["+tcp:8080", "+tcp:8443"]\n`;
  }
  mkdirSync(join(repo, 'clusters'), { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(repo, path), text);
}

interface ApplyFigures {
  s: number;
  /** The pass alone, as portcullis logs it (durationMs): the rest of `s` is process start-up and shutdown. */
  passS: number | undefined;
  requests: number;
  writes: number;
}

async function applyOnce(tool: Tool, dir: string, fake: FakeKube, env: NodeJS.ProcessEnv): Promise<ApplyFigures> {
  fake.clearRequests();
  const [file, args] = tool.command(dir);
  const started = performance.now();
  const out = await run(file, args, { env, maxBuffer: 64 << 20 }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`${tool.label} failed: ${err.stderr?.trim().split('\n').slice(-3).join(' | ') ?? err.message}`);
  });
  const s = (performance.now() - started) / 1000;
  if (!tool.done.test(out.stdout)) throw new Error(`${tool.label} printed nothing that says it applied: ${out.stdout.slice(0, 300)}`);
  const logged = /"durationMs":(\d+)/.exec(out.stdout + out.stderr)?.[1];
  return { s, passS: logged === undefined ? undefined : Number(logged) / 1000, requests: fake.requests.length, writes: fake.writes().length };
}

async function main(): Promise<void> {
  announce('bench/kubectl');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-kubectl-'));
  const rows: (string | number)[][] = [];
  try {
    writeRepo(dir);
    const rendered = await run(process.execPath, [cli, 'render', '--repo', join(dir, 'repo'), '--format', 'yaml'], { maxBuffer: 64 << 20 });
    writeFileSync(join(dir, 'objects.yaml'), rendered.stdout);
    const objects = (rendered.stdout.match(/^kind: /gm) ?? []).length;
    console.log(`${clusters} clusters → ${objects} objects (LoadBalancer Services), rendered by portcullis render --format yaml; each tool on its own fresh fake API server`);
    for (const tool of TOOLS) {
      // kubectl sends no bearer token to a plain-http server, so the fake checks none, for every tool alike.
      const fake = await startKubeApiserver({ auth: 'none' });
      try {
        fake.createNamespace('bench');
        const kubeconfig = join(dir, 'kubeconfig');
        writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${fake.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: fake, user: {token: bench}}]\ncontexts: [{name: fake, context: {cluster: fake, user: fake}}]\ncurrent-context: fake\n`);
        rmSync(join(dir, 'cache'), { recursive: true, force: true });
        const env = { ...process.env, KUBECONFIG: kubeconfig, PORTCULLIS_LOG_LEVEL: 'info' };
        const first = await applyOnce(tool, dir, fake, env);
        const services = fake.list('Service', 'bench').length;
        if (services !== objects) throw new Error(`${tool.label}: ${services} Services on the server after the first apply, expected ${objects}`);
        const noop = await applyOnce(tool, dir, fake, env);
        const pass = (f: ApplyFigures) => (f.passS === undefined ? '-' : f.passS.toFixed(2));
        rows.push([tool.label, first.s.toFixed(2), pass(first), first.requests, first.writes, noop.s.toFixed(2), pass(noop), noop.requests, noop.writes]);
      } finally {
        await fake.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(table(['tool', 'first s', 'of it pass s', 'first requests', 'first writes', 'no-op s', 'of it pass s', 'no-op requests', 'no-op writes'], rows));
  console.log('s: the whole process, timed from outside; pass s: the pass alone, as portcullis logs it (the rest is Node start-up and module loading)');
}

await main();
