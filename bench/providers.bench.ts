// bench/providers: what a pass costs on each provider, driven through the real Reconciler as the tests do.
// For N clusters (default 100): the first pass, a no-op pass (its time, read requests, and writes: must be
// 0), and the writes to add one port to one cluster, remove it again, and make that cluster public.
// Writes are counted where they land: API requests at the fake or proxy, nft transactions for nftables,
// listener transactions for userspace. Needs root, nft, ip and python3 with moto (as the tests do).
//   node --import tsx bench/providers.bench.ts [case...]      BENCH_CLUSTERS=100
import { announce, table } from './lib/machine.js';
import { CASES, startCase, type CaseName } from './lib/provider-cases.js';
import { measureProvider } from './lib/provider-run.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const clusters = Number(process.env.BENCH_CLUSTERS ?? 100);
if (!Number.isInteger(clusters) || clusters < 1) throw new Error(`bench/providers: BENCH_CLUSTERS=${process.env.BENCH_CLUSTERS} is not a positive integer`);
const chosen = process.argv.slice(2);
const unknown = chosen.filter((c) => !(CASES as readonly string[]).includes(c));
if (unknown.length > 0) throw new Error(`bench/providers: unknown case ${unknown.join(', ')}; cases: ${CASES.join(', ')}`);
const cases = chosen.length > 0 ? (chosen as CaseName[]) : CASES;

announce('bench/providers');
console.log(`${clusters} clusters, ports [8080, 8443] each; the changes are made to one cluster; no-op figures are the median of 5 passes`);
const rows: (string | number)[][] = [];
let failed = false;
for (const name of cases) {
  const c = await startCase(name, clusters);
  try {
    const f = await measureProvider(c, clusters);
    if (f.noopMaxWrites !== 0) failed = true;
    rows.push([
      c.label,
      f.first.ms.toFixed(0),
      f.first.requests ?? '-',
      f.first.writes,
      f.noop.ms.toFixed(0),
      f.noop.requests ?? '-',
      f.noopMaxWrites,
      f.addPort.writes,
      f.removePort.writes,
      f.exposure.writes,
      f.addPort.ms.toFixed(0),
    ]);
  } finally {
    await c.close();
  }
}
console.log(table(['provider', 'first ms', 'first requests', 'first writes', 'no-op ms', 'no-op reads', 'no-op writes', '+port writes', '-port writes', 'exposure writes', '+port ms'], rows));
console.log('writes: API write requests (kubernetes, aws, gcp); nft transactions (node nftables); listener transactions (node userspace)');
if (failed) {
  console.error('bench/providers: a no-op pass wrote something (the aim is 0)');
  process.exitCode = 1;
}
