// bench/latency: commit → converged, with the agent as a real process (`portcullis run`, nftables backend
// in a network namespace), for two triggers:
//   watch    the config repo is a local git repository followed with --branch; chokidar sees the commit
//   webhook  the config repo is a remote (a bare repository as a file:// URL, polled only every hour); the
//            commit is pushed, then a GitHub push event signed with X-Hub-Signature-256 is POSTed to
//            /api/webhook/github; the agent fetches and passes
// For each, "status" is when /api/status shows the new revision and "open" when the new forwarded port
// answers from the client namespace (a prober started before the commit, told the port once status shows
// it; so "open" is at most a status poll, 5 ms, after "status" when the port opened first). Needs root, nft and ip.   node --import tsx bench/latency.bench.ts
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess, eventually, freePort } from '../test/helpers/agent-process.js';
import { ADDRESSES, createTopology, serve } from '../test/helpers/netns.js';
import { TempGitRepo } from '../test/helpers/repo.js';
import { announce, median, table } from './lib/machine.js';
import { startProber } from './lib/probe.js';

const COMMITS = 6; // the first is a warm-up and is not counted
const SECRET = 'bench-webhook-secret';
const manifest = (name: string, port: number) => `name: ${name}\ncloud: node\nnode: {address: ${ADDRESSES.instance}}\nresources:\n  ports: [${port}]\n`;

interface Mode {
  label: string;
  /** Agent arguments, given the working repository. */
  args(work: TempGitRepo): string[];
  /** Makes the commit reach the agent; resolves with the instant the clock starts and the commit id. */
  publish(work: TempGitRepo, files: Record<string, string>, agentUrl: string): Promise<{ started: number; head: string }>;
  close(): void;
  /** What to say under the table about how the clock was started. */
  note(): string;
}

function watchMode(): Mode {
  return {
    label: 'watch (local repo, chokidar)',
    args: (work) => ['--repo', work.dir, '--branch', 'main'],
    publish: async (work, files) => {
      const started = Date.now();
      return { started, head: work.commit('open a port', files) };
    },
    close() {},
    note: () => 'watch: the clock starts before `git commit`',
  };
}

function webhookMode(): Mode {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-remote-'));
  const bare = join(dir, 'config.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  const pushMs: number[] = [];
  return {
    label: 'webhook (remote repo, GitHub push event)',
    args: (work) => {
      work.git('remote', 'add', 'origin', bare);
      work.git('push', '-q', 'origin', 'main');
      return ['--repo', `file://${bare}`, '--branch', 'main', '--interval', '1h', '--cache-dir', join(dir, 'cache')];
    },
    publish: async (work, files, agentUrl) => {
      const head = work.commit('open a port', files);
      const pushStarted = Date.now();
      work.git('push', '-q', 'origin', 'main');
      pushMs.push(Date.now() - pushStarted);
      const body = JSON.stringify({ ref: 'refs/heads/main', before: work.git('rev-parse', 'HEAD~1'), after: head, repository: { full_name: 'bench/config' } });
      const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      // GitHub delivers the push event once the push is accepted: the clock starts at the delivery.
      const started = Date.now();
      const res = await fetch(`${agentUrl}/api/webhook/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature } });
      const answer = await res.text();
      if (res.status !== 202 || (JSON.parse(answer) as { triggered?: boolean }).triggered !== true) throw new Error(`the webhook was not accepted: ${res.status} ${answer}`);
      return { started, head };
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
    note: () => `webhook: the clock starts at the POST of the push event, after \`git push\` (which took median ${median(pushMs)} ms)`,
  };
}

async function measure(mode: Mode): Promise<{ status: number[]; open: number[] }> {
  const net = await createTopology();
  const ports = Array.from({ length: COMMITS }, (_, i) => 7001 + i);
  const server = await serve(net.instance, 'tcp', ports);
  const work = new TempGitRepo();
  work.commit('base', { 'config.yaml': 'node: {port_range: 30000-30999}\n', 'clusters/keep.yaml': manifest('keep', 7000) });
  process.env.PORTCULLIS_WEBHOOK_SECRET = SECRET;
  const agent = new AgentProcess([...mode.args(work), '--node-backend', 'nftables', '--nft-netns', net.node.name, '--resync', '1h'], await freePort());
  const status: number[] = [];
  const open: number[] = [];
  try {
    await eventually(async () => ((await agent.json<{ revision: string | null }>('/api/status')).revision ? true : undefined), 'the first pass', 60_000);
    for (const [i, port] of ports.entries()) {
      const prober = await startProber(net.client, ADDRESSES.node);
      const { started, head } = await mode.publish(work, { [`clusters/app${i}.yaml`]: manifest(`app${i}`, port) }, agent.url);
      const seen = await eventually(async () => {
        const s = await agent.json<{ revision: string; clusters: { name: string; endpoints: { via?: string }[] }[] }>('/api/status');
        return s.revision === head ? { at: Date.now(), s } : undefined;
      }, `revision ${head} in /api/status`, 30_000, 5);
      const via = seen.s.clusters.find((c) => c.name === `app${i}`)?.endpoints[0]?.via;
      if (!via) throw new Error(`${mode.label}: app${i} has no forwarded endpoint in /api/status`);
      const answered = await prober.open(Number(via.split(':').at(-1)));
      if (i > 0) {
        status.push(seen.at - started);
        open.push(answered - started);
      }
    }
  } catch (err) {
    console.error(agent.output.slice(-2000));
    throw err;
  } finally {
    delete process.env.PORTCULLIS_WEBHOOK_SECRET;
    await agent.stop();
    await server.close();
    await net.destroy();
    work.remove();
    mode.close();
  }
  return { status, open };
}

announce('bench/latency');
const rows: (string | number)[][] = [];
const modes = [watchMode(), webhookMode()];
for (const mode of modes) {
  const { status, open } = await measure(mode);
  rows.push([mode.label, median(status), Math.min(...status), Math.max(...status), median(open), Math.min(...open), Math.max(...open), status.length]);
}
console.log(table(['trigger', 'status median ms', 'min', 'max', 'open median ms', 'min', 'max', 'commits'], rows));
for (const mode of modes) console.log(mode.note());
