import chokidar from 'chokidar';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { createAgent, type AgentOptions } from '../agent.js';
import type { LeaderElection } from '../leader/index.js';
import { createLogger } from '../log.js';
import { PassScheduler, type Trigger } from '../engine/scheduler.js';
import type { Cloud, NodeBackend } from '../model.js';
import { createAgentServer, listen } from '../server/http.js';
import { readSecret } from '../server/secrets.js';
import { readAdminSettings, UsageError, type Io, type RepoOptions } from './io.js';
import { statusTable } from './status.js';

export interface AgentCommandOptions extends RepoOptions {
  branch?: string;
  path?: string;
  cacheDir?: string;
  allowMassClose?: boolean;
  clouds?: Cloud[];
  nodeBackend?: NodeBackend;
  nodeListen?: string;
  nftNetns?: string;
  /** Run admin-policy modules committed to the config repo. */
  allowRepoPolicies?: boolean;
}

export interface RunOptions extends AgentCommandOptions {
  interval: string;
  schedule?: string;
  resync: string;
  listen: string;
  once?: boolean;
  /** How often the admin policies run over what providers hold (a live audit); never when absent. */
  auditInterval?: string;
  /** Files holding the webhook secret and the API token (else PORTCULLIS_WEBHOOK_SECRET / PORTCULLIS_API_TOKEN). */
  webhookSecretFile?: string;
  apiTokenFile?: string;
  leaderElect?: boolean;
  leaderElectNamespace?: string;
  leaderElectLeaseName?: string;
}

async function agentOptions(options: AgentCommandOptions, log: Logger): Promise<AgentOptions> {
  const adminSettings = await readAdminSettings(options.config);
  return {
    repo: options.repo,
    log,
    ...(options.branch ? { branch: options.branch } : {}),
    ...(options.path ? { path: options.path } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(adminSettings ? { adminSettings } : {}),
    ...(options.templates ? { templates: options.templates } : {}),
    ...(options.allowMassClose ? { allowMassClose: true } : {}),
    ...(options.clouds ? { clouds: options.clouds } : {}),
    ...(options.nodeBackend ? { nodeBackend: options.nodeBackend } : {}),
    ...(options.nodeListen ? { nodeListen: options.nodeListen } : {}),
    ...(options.nftNetns ? { nftNetns: options.nftNetns } : {}),
    policies: { repoDir: options.repo, ...(options.allowRepoPolicies ? { allowRepoPolicies: true } : {}) },
    ...('auditInterval' in options && typeof options.auditInterval === 'string' ? { auditIntervalMs: parseDuration(options.auditInterval, '--audit-interval') } : {}),
  };
}

/** One pass: observe, diff, converge. 0 when everything converged. */
export async function apply(options: AgentCommandOptions, io: Io): Promise<number> {
  const log = createLogger();
  const agent = await createAgent(await agentOptions(options, log));
  try {
    const report = await agent.pass(['api']);
    for (const o of report.outcomes) io.out(`${o.ok ? '' : 'FAILED '}${o.change.action} ${o.change.kind}/${o.change.name} (${o.change.cluster})${o.error ? `: ${o.error}` : ''}\n`);
    io.out(`${report.result}: ${report.outcomes.filter((o) => o.ok).length} change(s) applied, ${report.outcomes.filter((o) => !o.ok).length} failed${report.message ? ` — ${report.message}` : ''}\n`);
    return report.result === 'converged' ? 0 : 1;
  } finally {
    await agent.close();
  }
}

/** The agent: a pass on every trigger (poll, watch, resync, API), metrics and status over HTTP, until stopped. */
export async function run(options: RunOptions, io: Io): Promise<number> {
  const interval = parseDuration(options.interval, '--interval');
  const resync = parseDuration(options.resync, '--resync');
  if (options.schedule !== undefined && !cron.validate(options.schedule)) throw new UsageError(`--schedule '${options.schedule}' is not a cron expression (e.g. '*/2 * * * *')`);
  let webhookSecret: string | undefined;
  let apiToken: string | undefined;
  try {
    webhookSecret = readSecret(options.webhookSecretFile, 'PORTCULLIS_WEBHOOK_SECRET', '--webhook-secret-file');
    apiToken = readSecret(options.apiTokenFile, 'PORTCULLIS_API_TOKEN', '--api-token-file');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const log = createLogger({ secrets: [webhookSecret, apiToken].filter((s): s is string => s !== undefined) });
  let trigger: (t: Trigger) => void = () => {};
  const onDrift = (cloud: Cloud, why: string) => {
    log.info({ cloud, why }, 'drift: someone changed what portcullis holds');
    trigger('drift');
  };
  let election: LeaderElection | undefined;
  const canWrite = options.leaderElect ? () => election?.isLeader() ?? false : undefined;
  const agent = await createAgent({ ...(await agentOptions(options, log)), onDrift, ...(canWrite ? { canWrite } : {}) });
  let shown = false;
  const scheduler = new PassScheduler(async (triggers) => {
    await agent.pass(triggers);
    // Once, for the person who just started it: where each port can be reached now.
    if (!shown && agent.reconciler.status.length > 0) {
      shown = true;
      io.err(`\n${statusTable(agent.reconciler.status, true)}\n`);
    }
  });
  trigger = (t: Trigger) => void scheduler.request(t);
  if (options.leaderElect) {
    // Loaded only when asked for: the Kubernetes client takes seconds to import.
    const { startLeaderElection } = await import('../leader/index.js');
    election = startLeaderElection({
      ...(options.leaderElectNamespace ? { namespace: options.leaderElectNamespace } : {}),
      ...(options.leaderElectLeaseName ? { name: options.leaderElectLeaseName } : {}),
      log,
      onChange: (leader) => {
        agent.metrics.setLeader(leader);
        // A new leader converges at once rather than at the next trigger.
        if (leader) trigger('resync');
      },
    });
  }

  const server = createAgentServer({
    reconciler: agent.reconciler,
    metrics: agent.metrics,
    trigger,
    branch: options.branch ?? 'main',
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(apiToken ? { apiToken } : {}),
    ...(election ? { leader: () => election!.isLeader() } : {}),
  });
  const address = await listen(server, options.listen);
  const base = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ source: agent.source.describe(), listen: base, providers: Object.keys(agent.providers) }, 'portcullis agent started');
  io.err(`portcullis: watching ${agent.source.describe()}; metrics at ${base}/metrics, status at ${base}/api/status\n`);

  const timers: NodeJS.Timeout[] = [];
  const stoppers: (() => Promise<void> | void)[] = [];
  // Poll with jitter, so a fleet of agents does not hit the git server in step.
  const every = (ms: number, t: Trigger) => {
    const tick = () => {
      trigger(t);
      timers.push(setTimeout(tick, ms * (0.9 + Math.random() * 0.2)));
    };
    timers.push(setTimeout(tick, ms * (0.9 + Math.random() * 0.2)));
  };
  if (agent.source.watchPaths.length === 0) {
    if (options.schedule) {
      const task = cron.schedule(options.schedule, () => trigger('poll'), { noOverlap: true });
      stoppers.push(() => void task.stop());
    } else every(interval, 'poll');
  }
  every(resync, 'resync');
  if (agent.source.watchPaths.length > 0) {
    let debounce: NodeJS.Timeout | undefined;
    const watcher = chokidar.watch(agent.source.watchPaths, { ignoreInitial: true, ignored: (path) => /(^|\/)\.#|~$|\.swp$/.test(path) });
    watcher.on('all', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => trigger('watch'), 150);
    });
    watcher.on('error', (err) => log.warn({ err }, 'watch error'));
    stoppers.push(() => watcher.close());
  }

  await scheduler.request('startup');
  if (options.once) {
    await shutdown();
    return agent.reconciler.report?.result === 'converged' ? 0 : 1;
  }

  async function shutdown(): Promise<void> {
    for (const t of timers) clearTimeout(t);
    await Promise.all(stoppers.map((s) => s()));
    await scheduler.stop();
    await election?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await agent.close();
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: finishing the pass in progress');
      void shutdown().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** `30s`, `5m`, `1h`, `500ms`, or a bare number of seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} ${text}: expected a duration such as 30s, 5m or 1h`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = value * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  if (ms < 100) throw new UsageError(`${flag} ${text}: too short (at least 100ms)`);
  return ms;
}
