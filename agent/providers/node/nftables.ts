// The nftables node backend: forwards are DNAT/masquerade rules in portcullis's own `inet` table,
// each carrying an ownership comment. Reads with `nft -j list table`, writes one JSON batch per apply.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonValue } from '../../model.js';
import { ProviderError } from '../provider.js';
import type { NodeBackend, NodeForward } from './backend.js';
import { CHAINS, forwardProblem, markComment, parseMark, parseRule, ruleJson, rulesOf, specKey, type Mark, type RuleSpec } from './nft-json.js';

export interface NftablesOptions {
  /** Run nft inside this network namespace (`ip netns exec NS nft ...`): how tests stay off the host. */
  netns?: string;
  /** The table portcullis owns, family inet. Default `portcullis`. */
  table?: string;
  /** The nft binary. Default `nft`. */
  nft?: string;
}

export interface NftablesBackend extends NodeBackend {
  readonly name: 'nftables';
  /** Batches applied so far: 0 after a pass with nothing to change, 1 more per pass that changed something. */
  readonly transactions: number;
  /** What keeps forwards from working that rules cannot fix (IP forwarding switched off). */
  problems(): Promise<string[]>;
}

/** A rule of ours as listed: enough to delete it. */
interface RuleRef {
  chain: string;
  handle: number;
}

export function createNftablesBackend(options: NftablesOptions = {}): NftablesBackend {
  const table = options.table ?? 'portcullis';
  const nft = (args: string[]) => runNft(options, args);
  // Handles by forward id from the last listing; undefined once an apply may have changed them.
  let handles: Map<string, RuleRef[]> | undefined;
  let transactions = 0;
  let held: NodeForward[] = [];
  // One nft conversation at a time, so a listing never interleaves with a batch.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  async function readTable(): Promise<NodeForward[]> {
    let stdout: string;
    try {
      stdout = await nft(['-j', 'list', 'table', 'inet', table]);
    } catch (error) {
      // A missing table holds no forwards: nothing was applied yet, or someone deleted it by hand.
      if (error instanceof NftFailure && /No such file or directory/.test(error.stderr)) {
        handles = new Map();
        return (held = []);
      }
      throw providerError(`nft list table inet ${table} failed`, error);
    }
    const read = readForwards(stdout, table);
    handles = read.handles;
    return (held = read.forwards);
  }

  async function applyBatch(add: readonly NodeForward[], remove: readonly NodeForward[]): Promise<void> {
    const replaced = [...new Set([...remove, ...add].map((f) => f.id))];
    for (let attempt = 1; ; attempt++) {
      if (!handles) await readTable();
      const refs = replaced.flatMap((id) => handles?.get(id) ?? []);
      // Every rule to remove is already gone: nothing to do.
      if (refs.length === 0 && add.length === 0) return;
      const batch = { nftables: [...ensureTable(table), ...refs.map((r) => deleteRule(table, r)), ...add.flatMap((f) => addRules(table, f))] };
      try {
        await applyFile(options, batch);
        break;
      } catch (error) {
        // A handle that is gone (a rule deleted or the table flushed by hand since the listing): list again, once.
        const stale = error instanceof NftFailure && refs.length > 0 && /No such file or directory/.test(error.stderr);
        handles = undefined;
        if (stale && attempt === 1) continue;
        throw providerError(`nft batch (${add.length} to add, ${remove.length} to remove) was rejected, nothing changed`, error, stale || undefined);
      }
    }
    handles = undefined;
    transactions++;
  }

  return {
    name: 'nftables',
    get transactions() {
      return transactions;
    },
    list: () => serial(readTable),
    apply(add, remove) {
      if (add.length === 0 && remove.length === 0) return Promise.resolve();
      const ids = new Set<string>();
      for (const f of add) {
        const problem = ids.has(f.id) ? 'added twice in one batch' : forwardProblem(f);
        if (problem) return Promise.reject(new ProviderError(`Forward ${f.id}: ${problem}`, false));
        ids.add(f.id);
      }
      return serial(() => applyBatch(add, remove));
    },
    async problems() {
      const wanted = [{ key: 'net/ipv4/ip_forward', when: true }, { key: 'net/ipv6/conf/all/forwarding', when: held.some((f) => f.address.includes(':')) }];
      const problems: string[] = [];
      for (const { key, when } of wanted) {
        if (!when) continue;
        const where = options.netns ? ` in network namespace ${options.netns}` : '';
        try {
          const value = (await readProc(options, key)).trim();
          if (value !== '1') problems.push(`/proc/sys/${key} is ${value}${where}: forwarded connections to other hosts are dropped; set sysctl ${key.replaceAll('/', '.')}=1`);
        } catch (error) {
          problems.push(`cannot read /proc/sys/${key}${where}: ${(error as Error).message}`);
        }
      }
      return problems;
    },
    close: () => serial(async () => undefined),
  };
}

/** Whether nft can be run here with the rights it needs, for `node.backend: auto`. */
export async function nftablesAvailable(options: NftablesOptions = {}): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await runNft(options, ['-j', 'list', 'tables']);
    return { ok: true };
  } catch (error) {
    const reason = error instanceof NftFailure ? error.stderr.trim() || error.message : (error as Error).message;
    return { ok: false, reason: `nft cannot list tables: ${reason}` };
  }
}

/** Rebuilds the forwards of a listing, and the handles of their rules. Rules without our mark are left out. */
export function readForwards(json: string, table: string): { forwards: NodeForward[]; handles: Map<string, RuleRef[]> } {
  const items = ((JSON.parse(json) as { nftables?: unknown[] }).nftables ?? []) as { rule?: Record<string, unknown> }[];
  const groups = new Map<string, { mark: Mark; specs: (RuleSpec | undefined)[]; refs: RuleRef[] }>();
  for (const { rule } of items) {
    if (!rule || rule.family !== 'inet' || rule.table !== table || typeof rule.chain !== 'string' || typeof rule.handle !== 'number') continue;
    const mark = parseMark(rule.comment);
    if (!mark) continue;
    const group = groups.get(mark.id) ?? { mark, specs: [], refs: [] };
    groups.set(mark.id, group);
    // A rule whose comment disagrees with the first one of its forward counts as unreadable.
    const sameMark = mark.cluster === group.mark.cluster && mark.exposure === group.mark.exposure;
    group.specs.push(sameMark ? parseRule(rule.chain, rule.expr) : undefined);
    group.refs.push({ chain: rule.chain, handle: rule.handle });
  }
  const forwards = [...groups.values()].map((g) => rebuildForward(g.mark, g.specs)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { forwards, handles: new Map([...groups].map(([id, g]) => [id, g.refs])) };
}

/**
 * The forward that a forward's listed rules say, from their expressions and comment. When rules are
 * missing, extra or unreadable, `size` counts only the leading ports whose rules are all exactly there,
 * so the forward differs from the desired one and the engine applies it again.
 */
export function rebuildForward(mark: Mark, listed: readonly (RuleSpec | undefined)[]): NodeForward {
  const specs = listed.filter((s): s is RuleSpec => s !== undefined);
  const entries = specs.filter((s) => s.kind !== 'masquerade');
  const dnat = specs.find((s) => s.kind === 'dnat');
  const masquerades = specs.filter((s) => s.kind === 'masquerade');
  const target = dnat ?? masquerades[0];
  const nodePort = entries.length > 0 ? Math.min(...entries.map((s) => s.nodePort)) : 0;
  const port = dnat ? dnat.port - (dnat.nodePort - nodePort) : masquerades.length > 0 ? Math.min(...masquerades.map((s) => s.port)) : 0;
  const sources = [...new Set(entries.flatMap((s) => (s.source ? [s.source] : [])))].sort();
  const spans = [...entries.map((s) => s.nodePort - nodePort), ...masquerades.map((s) => s.port - port)];
  const forward: NodeForward = {
    ...mark,
    protocol: specs[0]?.protocol ?? 'tcp',
    address: target?.address ?? '',
    port,
    size: Math.max(...spans, 0) + 1,
    nodePort,
    sources,
  };
  if (!target || entries.length === 0 || specs.length < listed.length || spans.some((k) => k < 0)) return { ...forward, size: 0 };
  // Compare port by port, as multisets, what is listed with what the forward's own rules would be.
  const offsetOf = (s: RuleSpec) => (s.kind === 'masquerade' ? s.port - port : s.nodePort - nodePort);
  const tally = (list: readonly RuleSpec[]) => {
    const byPort = new Map<number, Map<string, number>>();
    for (const s of list) {
      const keys = byPort.get(offsetOf(s)) ?? new Map<string, number>();
      byPort.set(offsetOf(s), keys.set(specKey(s), (keys.get(specKey(s)) ?? 0) + 1));
    }
    return byPort;
  };
  const [have, want] = [tally(specs), tally(rulesOf(forward))];
  const same = (a = new Map<string, number>(), b = new Map<string, number>()) => a.size === b.size && [...a].every(([key, n]) => b.get(key) === n);
  let intact = 0;
  while (intact < forward.size && same(have.get(intact), want.get(intact))) intact++;
  return { ...forward, size: intact };
}

// --- nft JSON commands -------------------------------------------------------------------------

/** `add` of an existing table or chain changes nothing, so every batch can start with these. */
function ensureTable(table: string): JsonValue[] {
  return [
    { add: { table: { family: 'inet', name: table } } },
    ...CHAINS.map((c) => ({ add: { chain: { family: 'inet', table, name: c.name, type: 'nat', hook: c.hook, prio: c.prio, policy: 'accept' } } })),
  ];
}

const deleteRule = (table: string, ref: RuleRef): JsonValue => ({ delete: { rule: { family: 'inet', table, chain: ref.chain, handle: ref.handle } } });

function addRules(table: string, f: NodeForward): JsonValue[] {
  const comment = markComment(f);
  return rulesOf(f).map((spec) => ({ add: { rule: { family: 'inet', table, ...ruleJson(spec, comment) } } }));
}

// --- running nft -------------------------------------------------------------------------------

/** nft (or `ip netns exec`) exited with an error; `stderr` is what it said. */
class NftFailure extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

const TRANSIENT = /Resource temporarily unavailable|Device or resource busy|Interrupted system call|No buffer space available|EAGAIN|EBUSY|EINTR|ENOBUFS/;

function run(options: NftablesOptions, file: string, args: string[]): Promise<string> {
  const [command, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(command, argv, { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string') return reject(new NftFailure(`cannot run ${command}: ${code}`, stderr, false));
      const timedOut = error.killed === true;
      const said = stderr.trim() || error.message;
      reject(new NftFailure(timedOut ? `${command} timed out` : said, stderr, timedOut || TRANSIENT.test(stderr)));
    });
  });
}

const runNft = (options: NftablesOptions, args: string[]) => run(options, options.nft ?? 'nft', args);

/** Applies a batch from a temporary file: nft 1.0.6 cannot read `-f -` from a Node pipe. */
async function applyFile(options: NftablesOptions, batch: JsonValue): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-nft-'));
  try {
    const file = join(dir, 'batch.json');
    await writeFile(file, JSON.stringify(batch));
    await runNft(options, ['-j', '-f', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** /proc/sys of the namespace nft runs in: the agent's own, or the one `ip netns exec` enters. */
const readProc = (options: NftablesOptions, key: string): Promise<string> =>
  options.netns ? run(options, 'cat', [`/proc/sys/${key}`]) : readFile(`/proc/sys/${key}`, 'utf8');

function providerError(message: string, error: unknown, transient?: boolean): ProviderError {
  const detail = error instanceof NftFailure ? error.stderr.trim() || error.message : error instanceof Error ? error.message : String(error);
  return new ProviderError(`${message}: ${detail}`, transient ?? (error instanceof NftFailure && error.transient), { cause: error });
}
