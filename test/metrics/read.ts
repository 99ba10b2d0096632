// Reading metric values back: prom-client's own structured form of the registry (what the text
// exposition is printed from), and the real promtool for linting the text a scrape returns.
import { spawnSync } from 'node:child_process';
import type { Registry } from 'prom-client';

type Labels = Record<string, string | number>;

/** The value of the series `name{labels}` (exact label set), or undefined when there is none. */
export async function valueOf(registry: Registry, name: string, labels: Labels = {}): Promise<number | undefined> {
  const family = name.replace(/_(bucket|sum|count)$/, '');
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === family || m.name === name);
  if (!metric) throw new Error(`no metric family ${family} in the registry`);
  const wanted = Object.entries(labels).map(([k, v]) => [k, String(v)]);
  const series = (metric.values as { value: number; labels: Labels; metricName?: string }[]).filter((v) => (v.metricName ?? metric.name) === name);
  const match = series.find((v) => {
    const got = Object.entries(v.labels).map(([k, x]) => [k, String(x)]);
    return got.length === wanted.length && wanted.every(([k, x]) => v.labels[k!] !== undefined && String(v.labels[k!]) === x);
  });
  return match?.value;
}

/** Every series of a family as `{labels} value` lines, sorted: for whole-family assertions. */
export async function seriesOf(registry: Registry, name: string): Promise<string[]> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`no metric family ${name} in the registry`);
  return (metric.values as { value: number; labels: Labels }[])
    .map((v) => `${JSON.stringify(Object.fromEntries(Object.entries(v.labels).sort()))} ${v.value}`)
    .sort();
}

/** `promtool check metrics` over an exposition text; fails loudly when promtool is missing. */
export function promtoolCheckMetrics(text: string): { status: number; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool cannot run (${result.error.message}): install Debian's prometheus package (.ci/run does)`);
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}
