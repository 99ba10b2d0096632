// The fault matrix: for each provider, every kind of call a pass makes (found by watching a clean
// pass, so a new call is covered without editing this file) meets each kind of fault — throttling,
// server errors, timeouts or lost answers — in a pass that creates, updates and deletes at once; then
// the provider is unreachable for two whole passes. After the fault ends the agent must converge, a
// freshly started agent must find nothing to do, and the world must hold exactly what a clean run
// leaves: nothing leaked, nothing duplicated, nothing missing.
// By default each kind of call meets one kind of fault (rotating, so every kind is used); FAULT_MATRIX=full
// (npm run test:long) crosses every call with every fault, FAULT_RUNS times with different burst lengths.
// FAULT_REPORT=FILE writes the matrix as JSON.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MemoryRepo } from '../helpers/agent-fixture.js';
import { awsRig, gcpRig, kubernetesRig, nftablesRig, type FaultKind, type Operation, type Rig } from './rigs.js';

const FULL = process.env.FAULT_MATRIX === 'full';
const RUNS = Number(process.env.FAULT_RUNS ?? 1);
const MAX_PASSES = 6;

interface Row {
  provider: string;
  operation: string;
  fault: FaultKind | 'outage';
  runs: number;
  converged: number;
  leaked: number;
  duplicated: number;
  missing: number;
  passes: number[];
}

const matrix: Row[] = [];

function base(rig: Rig): Record<string, string> {
  return { 'config.yaml': rig.settings, 'clusters/a.yaml': rig.manifest('a', [80, 443]), 'clusters/b.yaml': rig.manifest('b', [8080]), 'clusters/c.yaml': rig.manifest('c', [9000]) };
}

/** One pass that opens (d), changes (b) and closes (c) at once: every write a provider has. */
function next(rig: Rig): Record<string, string | null> {
  return { 'clusters/b.yaml': rig.manifest('b', [8080, 8081]), 'clusters/c.yaml': null, 'clusters/d.yaml': rig.manifest('d', [7000]) };
}

/** Lines of `got` beyond what `want` has (a multiset difference). */
function extra(got: string[], want: string[]): string[] {
  const left = new Map<string, number>();
  for (const line of want) left.set(line, (left.get(line) ?? 0) + 1);
  return got.filter((line) => {
    const n = left.get(line) ?? 0;
    left.set(line, n - 1);
    return n <= 0;
  });
}

async function untilConverged(rig: Rig, repo: MemoryRepo, passes: number): Promise<number> {
  const agent = rig.reconciler(repo);
  for (let i = 1; i <= passes; i++) if ((await agent.pass(['resync'])).result === 'converged') return i;
  return -1;
}

async function scenario(rig: Rig, reference: string[], fault: { op: Operation; kind: FaultKind; times: number } | 'outage') {
  await rig.reset(['a', 'b', 'c', 'd']);
  const repo = new MemoryRepo(base(rig));
  const agent = rig.reconciler(repo);
  const first = await agent.pass(['startup']);
  assert.equal(first.result, 'converged', `${rig.name}: the clean first pass: ${first.message ?? JSON.stringify(first.outcomes)}`);
  repo.write(next(rig));

  let passes = 0;
  let converged = false;
  if (fault === 'outage') {
    rig.outage(true);
    for (let i = 0; i < 2; i++, passes++) assert.notEqual((await agent.pass(['resync'])).result, 'converged', 'a pass while the provider is unreachable cannot converge');
    rig.outage(false);
  } else rig.inject(fault.op, fault.kind, fault.times);
  for (let i = 0; i < MAX_PASSES && !converged; i++, passes++) converged = (await agent.pass(['resync'])).result === 'converged';
  rig.clearFaults();

  // A freshly started agent (nothing in memory) must see a world that needs nothing.
  const fresh = await rig.reconciler(repo).pass(['startup']);
  const settled = converged && fresh.result === 'converged' && fresh.outcomes.length === 0;
  const inventory = await rig.inventory();
  const leakedLines = extra(inventory, reference);
  const duplicated = leakedLines.filter((line) => reference.includes(line)).length;
  return { converged: settled, passes, leaked: leakedLines.length - duplicated, duplicated, missing: extra(reference, inventory).length, detail: { fresh: fresh.outcomes.map((o) => `${o.change.action} ${o.change.id}`), leakedLines } };
}

for (const make of [kubernetesRig, awsRig, gcpRig, nftablesRig]) {
  const rig = make();
  describe(`fault matrix: ${rig.name}`, () => {
    let reference: string[] = [];
    let operations: Operation[] = [];
    before(async () => {
      await rig.start();
      // A clean run: what the world should hold at the end, and every kind of call the changing pass makes.
      await rig.reset(['a', 'b', 'c', 'd']);
      const repo = new MemoryRepo(base(rig));
      const agent = rig.reconciler(repo);
      assert.equal((await agent.pass(['startup'])).result, 'converged');
      repo.write(next(rig));
      rig.clearCalls();
      const report = await agent.pass(['resync']);
      assert.equal(report.result, 'converged', report.message);
      operations = rig.calls();
      reference = (await rig.inventory()).sort();
    });
    after(() => rig.stop());

    it('meets every fault on every kind of call, and an outage, and ends with exactly what a clean run leaves', async (t) => {
      assert.ok(operations.some((o) => o.write) && operations.some((o) => !o.write), `reads and writes were seen: ${operations.map((o) => o.name).join(', ')}`);
      const cells: { label: string; fault: Parameters<typeof scenario>[2] }[] = [];
      const kindsFor = (i: number) => (FULL ? rig.kinds : [rig.kinds[i % rig.kinds.length]!]);
      for (const [i, op] of operations.entries()) for (const kind of kindsFor(i)) for (let run = 0; run < RUNS; run++) cells.push({ label: `${op.name} ${kind}`, fault: { op, kind, times: 1 + ((run * 2 + 3) % 5) } });
      for (let run = 0; run < RUNS; run++) cells.push({ label: 'outage', fault: 'outage' });

      const failures: string[] = [];
      for (const cell of cells) {
        const got = await scenario(rig, reference, cell.fault);
        const operation = cell.fault === 'outage' ? '*' : cell.fault.op.name;
        const fault = cell.fault === 'outage' ? 'outage' : cell.fault.kind;
        let row = matrix.find((r) => r.provider === rig.name && r.operation === operation && r.fault === fault);
        if (!row) matrix.push((row = { provider: rig.name, operation, fault, runs: 0, converged: 0, leaked: 0, duplicated: 0, missing: 0, passes: [] }));
        row.runs++;
        row.converged += got.converged ? 1 : 0;
        row.leaked += got.leaked;
        row.duplicated += got.duplicated;
        row.missing += got.missing;
        row.passes.push(got.passes);
        if (!got.converged || got.leaked || got.duplicated || got.missing) failures.push(`${cell.label}: ${JSON.stringify(got)}`);
      }
      for (const row of matrix.filter((r) => r.provider === rig.name)) {
        t.diagnostic(`${row.provider.padEnd(10)} ${row.operation.padEnd(36)} ${row.fault.padEnd(8)} runs=${row.runs} converged=${row.converged} leaked=${row.leaked} duplicated=${row.duplicated} missing=${row.missing} passes=${row.passes.join('/')}`);
      }
      assert.deepEqual(failures, [], 'every cell converges with nothing leaked, duplicated or missing');
    });
  });
}

after(() => {
  if (process.env.FAULT_REPORT) writeFileSync(process.env.FAULT_REPORT, `${JSON.stringify(matrix, null, 2)}\n`);
});
