import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a config repo of `clusters` manifests, about three port specs each, across all four clouds and
 * every port form, ten clusters per file in 1,000-file directories. `variant` shifts some ports so two
 * generated repos differ like two revisions do (about one cluster in ten changes).
 */
export function generateRepo(dir: string, clusters: number, variant = 0): { files: number; specs: number } {
  mkdirSync(join(dir, 'clusters'), { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), 'kubernetes:\n  ports: loadbalancer\n  custom_metadata:\n    labels: {team: bench}\nnode:\n  port_range: 10000-60000\n');
  let specs = 0;
  let files = 0;
  const perFile = 10;
  for (let start = 0; start < clusters; start += perFile) {
    const docs: string[] = [];
    for (let i = start; i < Math.min(clusters, start + perFile); i++) {
      const shift = variant !== 0 && i % 10 === 0 ? variant : 0;
      // One Kubernetes load balancer has one source list, so its ports share one exposure.
      const plus = i % 4 === 1 ? '+' : '';
      const ports = [`"${plus}${8000 + (i % 500) + shift}"`, `"+tcp:${443 + shift}"`, `"${plus}${20000 + (i % 100) * 10}-${20005 + (i % 100) * 10}"`];
      specs += ports.length;
      docs.push(`name: c${i}\n${target(i)}resources:\n  ports: [${ports.join(', ')}]\n`);
    }
    const sub = join(dir, 'clusters', `d${Math.floor(files / 1000)}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${files}.yaml`), docs.join('---\n'));
    files++;
  }
  return { files, specs };
}

function target(i: number): string {
  switch (i % 4) {
    case 0:
      return `cloud: node\nnode: {address: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}}\n`;
    case 1:
      return `cloud: kubernetes\nkubernetes: {namespace: ns${i % 50}, selector: {app: c${i}}}\n`;
    case 2:
      return `cloud: aws\naws: {region: us-east-1, instance_tags: {Name: c${i}}}\n`;
    default:
      return `cloud: gcp\ngcp: {project: bench-project, target_tags: [c${i}]}\n`;
  }
}
