#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError, processIo } from './commands/io.js';
import { audit } from './commands/audit.js';
import { plan } from './commands/plan.js';
import { render } from './commands/render.js';
import { apply, run } from './commands/run.js';
import { status } from './commands/status.js';
import { CLOUDS, NODE_BACKENDS, type Cloud } from './model.js';
import { validate } from './commands/validate.js';
import { HostLockError } from './providers/node/host-lock.js';
import { SourceError } from './source/index.js';
import { VERSION } from './version.js';

const program = new Command('portcullis')
  .description('Keeps network exposure (Kubernetes Services and Ingresses, AWS security groups, GCP firewall rules, node port forwards) in line with Git.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) });

const repoOption = () => new Option('--repo <dir>', 'the config repo (config.yaml and clusters/)').default('.');
const configOption = () => new Option('--config <file>', "the admin's settings file; wins over the repo's config.yaml");
const repoPoliciesOption = () => new Option('--allow-repo-policies', 'run admin-policy modules committed to the config repo (refused by default: anyone who can commit could change them)');
const templatesOption = () => new Option('--templates <dir>', 'a directory of templates that override the shipped ones');

function oneOf<T extends string>(...allowed: T[]) {
  return (value: string): T => {
    if ((allowed as string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
  };
}

program
  .command('validate')
  .description('load, check and admit every manifest; print each problem as FILE:LINE:COL: message')
  .addOption(repoOption())
  .option('--rev <rev>', 'read this git revision instead of the files on disk')
  .addOption(configOption())
  .addOption(templatesOption())
  .addOption(repoPoliciesOption())
  .option('--format <format>', 'text | json', oneOf('text', 'json'), 'text')
  .action(async (options) => exit(await validate(options, processIo)));

program
  .command('render')
  .description('the desired resources each provider would hold; no provider I/O')
  .addOption(repoOption())
  .option('--rev <rev>', 'read this git revision instead of the files on disk')
  .option('--cluster <name>', 'only this cluster')
  .addOption(configOption())
  .addOption(templatesOption())
  .addOption(repoPoliciesOption())
  .option('--format <format>', 'yaml | json', oneOf('yaml', 'json'), 'yaml')
  .action(async (options) => exit(await render(options, processIo)));

program
  .command('plan')
  .description('the port changes between two revisions of the config repo (no credentials needed), or with --live between the repo and what the providers hold')
  .addOption(repoOption())
  .option('--base <rev>', 'the revision to compare against (default: HEAD, or the parent of --head)')
  .option('--head <rev>', 'the revision to plan (default: the files on disk)')
  .addOption(configOption())
  .addOption(templatesOption())
  .addOption(repoPoliciesOption())
  .option('--format <format>', 'text | markdown | json | sarif', oneOf('text', 'markdown', 'json', 'sarif'), 'text')
  .option('--live', 'compare the files on disk with what the providers hold now (needs their credentials; writes nothing)')
  .option('--clouds <list>', `with --live, clouds to observe, comma-separated (${CLOUDS.join(', ')}); default: the clouds the manifests name`, cloudList)
  .addOption(new Option('--node-backend <backend>', 'with --live, override node.backend').choices(NODE_BACKENDS))
  .option('--nft-netns <name>', 'with --live, run nft inside this network namespace (ip netns exec)')
  .action(async (options) => exit(await plan(options, processIo)));

program
  .command('audit')
  .description('run the admin policies over what the providers hold (observes only); exit 1 on an enforce violation')
  .addOption(repoOption())
  .addOption(configOption())
  .addOption(templatesOption())
  .addOption(repoPoliciesOption())
  .option('--clouds <list>', `clouds to observe, comma-separated (${CLOUDS.join(', ')}); default: the clouds the manifests name`, cloudList)
  .addOption(new Option('--node-backend <backend>', 'override node.backend').choices(NODE_BACKENDS))
  .option('--nft-netns <name>', 'run nft inside this network namespace (ip netns exec)')
  .option('--format <format>', 'table | json', oneOf('table', 'json'), 'table')
  .action(async (options) => exit(await audit(options, processIo)));

const agentOptions = (command: Command): Command =>
  command
    .addOption(repoOption())
    .option('--branch <branch>', 'for a URL, the branch to follow (default main); for a directory, follow this branch instead of the files on disk')
    .option('--path <dir>', "for a URL, the config repo's directory inside the git repository")
    .option('--cache-dir <dir>', 'where clones of remote repos are kept (default ~/.cache/portcullis)')
    .addOption(configOption())
    .addOption(templatesOption())
    .addOption(repoPoliciesOption())
    .option('--allow-mass-close', 'let a pass close every open port, or more than guard.max_close_share of them')
    .option('--clouds <list>', `clouds this agent serves from the start, comma-separated (${CLOUDS.join(', ')}); default: each cloud once a manifest names it`, cloudList)
    .addOption(new Option('--node-backend <backend>', 'override node.backend').choices(NODE_BACKENDS))
    .option('--node-listen <host>', 'where the userspace backend listens (default 0.0.0.0)')
    .option('--nft-netns <name>', 'run nft inside this network namespace (ip netns exec)');

function cloudList(value: string): Cloud[] {
  const clouds = value.split(',').map((c) => c.trim());
  for (const cloud of clouds) if (!(CLOUDS as readonly string[]).includes(cloud)) throw new InvalidArgumentError(`unknown cloud '${cloud}': expected ${CLOUDS.join(', ')}`);
  return clouds as Cloud[];
}

agentOptions(program.command('apply').description('one pass: observe, diff, converge')).action(async (options) => exit(await apply(options, processIo)));

agentOptions(program.command('run').description('the agent: passes on every trigger, HTTP endpoints, metrics'))
  .option('--interval <duration>', 'how often to fetch a remote repo', '1m')
  .option('--schedule <cron>', 'fetch a remote repo on this cron schedule instead of --interval')
  .option('--resync <duration>', 'a pass at least this often even when Git is unchanged, to heal drift', '5m')
  .option('--listen <addr>', 'HTTP address for /metrics, /api/health and /api/status', '127.0.0.1:9464')
  .option('--once', 'run one pass with the full agent set-up, then exit')
  .option('--audit-interval <duration>', 'also run the admin policies over what providers hold this often (e.g. 1h); default: never')
  .option('--webhook-secret-file <file>', 'the GitHub/GitLab webhook secret (else PORTCULLIS_WEBHOOK_SECRET); without one, webhooks are off')
  .option('--api-token-file <file>', 'a bearer token that POST /api/* needs (else PORTCULLIS_API_TOKEN)')
  .option('--leader-elect', 'with several replicas: only the holder of a coordination.k8s.io Lease writes; the others observe and serve status')
  .option('--leader-elect-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE, else the service account namespace)')
  .option('--leader-elect-lease-name <name>', 'name of the Lease', 'portcullis')
  .action(async (options) => exit(await run(options, processIo)));

program
  .command('status')
  .description('a table of clusters, their ports and reachable endpoints, from a running agent')
  .option('--agent <url>', 'the agent to ask', 'http://127.0.0.1:9464')
  .option('--endpoints', 'show where each port can be reached')
  .option('--format <format>', 'table | json', oneOf('table', 'json'), 'table')
  .action(async (options) => exit(await status(options, processIo)));

function exit(code: number): void {
  process.exitCode = code;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof SourceError || err instanceof HostLockError) {
    process.stderr.write(`portcullis: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`portcullis: unexpected error: ${message}\n`);
  if (process.env.PORTCULLIS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('(this is a bug in portcullis; set PORTCULLIS_DEBUG=1 for the stack trace and report it)\n');
  process.exitCode = 3;
});
