import { plan } from '../../agent/commands/plan.js';
import type { Io } from '../../agent/commands/io.js';
import { TempGitRepo } from '../helpers/repo.js';

/**
 * A config repo with two real commits for pull-request review tests: base, and a head that opens a public
 * port, adds a range (too many ports for a warn policy), closes a cluster, adds one, and tries to open a
 * public ssh port that an enforce policy denies.
 */
export function reviewRepo(): { repo: TempGitRepo; base: string; head: string } {
  const repo = new TempGitRepo();
  const node = (name: string, ports: string) => `name: ${name}\ncloud: node\nnode: {address: 10.0.0.2}\nresources:\n  ports: ${ports}\n`;
  const base = repo.commit('base', {
    'config.yaml': 'admin_policy:\n  - deny-public-ports\n  - {name: max-ports, max: 20, mode: warn}\n  - {name: add-labels, labels: {team: platform}}\n',
    'clusters/web.yaml': node('web', '[8888]'),
    'clusters/api.yaml': 'name: api\ncloud: kubernetes\nkubernetes: {namespace: api}\nresources:\n  ports: ["+tcp:443"]\n',
    'clusters/old.yaml': 'name: old\ncloud: gcp\ngcp: {project: my-proj-1}\nresources:\n  ports: [22]\n',
  });
  const head = repo.commit('head', {
    'clusters/web.yaml': node('web', '[8888, "+tcp:8080", "10020-10040"]'),
    'clusters/api.yaml': 'name: api\ncloud: kubernetes\nkubernetes: {namespace: api}\nresources:\n  ports: ["+tcp:443", "+tcp:22"]\n',
    'clusters/old.yaml': null,
    'clusters/batch.yaml': 'name: batch\ncloud: aws\naws: {region: eu-west-1, instance_ids: [i-0123456789abcdef0]}\nresources:\n  ports: [{port: 8080, cidrs: [10.20.0.0/16]}]\n',
  });
  return { repo, base, head };
}

/** `plan` in this process, its output with the commit ids (which change with every run) replaced by BASE and HEAD. */
export async function reviewPlan(format: 'markdown' | 'sarif' | 'json' | 'text'): Promise<{ status: number; out: string; err: string }> {
  const { repo, base, head } = reviewRepo();
  try {
    let out = '';
    let err = '';
    const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
    const status = await plan({ repo: repo.dir, base, head, format }, io);
    const normal = (text: string) => text.replaceAll(base, 'BASE').replaceAll(head, 'HEAD').replaceAll(base.slice(0, 7), 'BASE').replaceAll(head.slice(0, 7), 'HEAD');
    return { status, out: normal(out), err: normal(err) };
  } finally {
    repo.remove();
  }
}
