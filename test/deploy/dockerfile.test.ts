// The Dockerfile, linted without a Docker engine: stages, a non-root user, and every COPY source
// present in the repository and let through by .dockerignore.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Instructions with their stage index, line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(trimmed) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') stage++;
    out.push({ op: op.toUpperCase(), args: args!.trim(), stage });
  }
  return out;
}

const instructions = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const lastStage = Math.max(...instructions.map((i) => i.stage));
const final = instructions.filter((i) => i.stage === lastStage);
const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('builds in two stages on Node 20, and the runtime stage runs as a non-root numeric user', () => {
    const froms = instructions.filter((i) => i.op === 'FROM');
    assert.equal(froms.length, 2);
    for (const from of froms) assert.match(from.args, /^node:20[-.\w]*(\s+AS\s+\w+)?$/i);
    const users = final.filter((i) => i.op === 'USER');
    assert.equal(users.length, 1, 'one USER in the runtime stage');
    const [uid, gid] = users[0]!.args.split(':');
    assert.match(uid!, /^[1-9]\d*$/, 'a numeric non-zero uid, so runAsNonRoot can verify it');
    assert.match(gid ?? '1', /^[1-9]\d*$/);
    const userAt = final.indexOf(users[0]!);
    assert.ok(final.slice(userAt + 1).every((i) => i.op !== 'RUN'), 'nothing runs as root after USER');
  });

  it('copies only sources that exist and that .dockerignore lets through', () => {
    assert.equal(ignore[0], '*', '.dockerignore starts from nothing and lists what goes in');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const copies = instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        assert.ok(existsSync(join(root, source)), `COPY ${source}: no such file in the repo`);
        assert.ok(allowed.includes(source.replace(/\/$/, '')), `COPY ${source}: excluded by .dockerignore`);
      }
    }
    for (const needed of ['schemas', 'templates', 'policies', 'package.json']) {
      assert.ok(final.some((i) => i.op === 'COPY' && i.args.split(/\s+/)[0] === needed), `the runtime image has ${needed}`);
    }
  });

  it('takes from the build stage what it builds, and starts the package binary', () => {
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
    const fromBuild = final.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build')).map((i) => i.args.split(/\s+/)[1]);
    assert.deepEqual(fromBuild, ['/src/node_modules', `/src/${tsconfig.compilerOptions.outDir}`]);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { portcullis: string } };
    const entry = JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    assert.deepEqual(entry, ['node', `/app/${pkg.bin.portcullis}`]);
    assert.ok(existsSync(join(root, pkg.bin.portcullis.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), 'the entry is compiled from agent/cli.ts');
  });

  it('installs git and nftables in the runtime image and listens where EXPOSE says', () => {
    const installs = final.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
    for (const pkg of ['git', 'openssh-client', 'ca-certificates', 'nftables']) assert.match(installs, new RegExp(`\\b${pkg}\\b`));
    assert.match(installs, /--no-install-recommends/);
    assert.match(installs, /rm -rf \/var\/lib\/apt\/lists/);
    const exposed = final.find((i) => i.op === 'EXPOSE')!.args;
    assert.deepEqual(JSON.parse(final.find((i) => i.op === 'CMD')!.args), ['run', '--listen', `0.0.0.0:${exposed}`]);
  });
});
