import { createRenderer, contextFor } from './agent/render/index.js';
import { parseSimple } from './agent/render/parse.js';
import { defaultSettings, kubernetesCluster, awsCluster, gcpCluster, nodeCluster, spec, publicSpec } from './test/helpers/fixtures.js';
const s = defaultSettings();
s.kubernetes.custom_metadata.labels = { team: 'bench' };
const clusters = Array.from({ length: 10000 }, (_, i) => {
  const plus = i % 4 === 1;
  const mk = plus ? publicSpec : spec;
  const ports = [mk(8000 + (i % 500)), publicSpec(443), mk(20000 + (i % 100) * 10, 20005 + (i % 100) * 10)].sort((a, b) => a.from - b.from);
  switch (i % 4) { case 0: return nodeCluster(`c${i}`, { ports }); case 1: return kubernetesCluster(`c${i}`, { ports }); case 2: return awsCluster(`c${i}`, { ports }); default: return gcpCluster(`c${i}`, { ports }); }
});
const r = createRenderer();
for (let round = 0; round < 3; round++) {
  const t0 = performance.now(); let n = 0, p = 0;
  for (const c of clusters) { const out = r.render(c, s); n += out.resources.length; p += out.problems.length; }
  console.log(`10000 renders: ${(performance.now() - t0).toFixed(0)} ms, ${n} resources, ${p} problems`);
}
import { loadTemplates } from './agent/render/environment.js';
import { parseFull } from './agent/render/parse.js';
const t = loadTemplates();
const texts: string[] = [];
let t0 = performance.now();
for (const c of clusters) { const { template, context } = contextFor(c, s); texts.push((t.get(template!) as any).template.render(context)); }
console.log('context+nunjucks', performance.now() - t0);
t0 = performance.now();
let fb = 0;
for (const x of texts) if (!parseSimple(x)) fb++;
console.log('parseSimple', performance.now() - t0, 'fallbacks', fb);
t0 = performance.now();
for (const x of texts.slice(0, 1000)) parseFull(x);
console.log('parseFull x1000', performance.now() - t0);
console.log(texts[1]);
