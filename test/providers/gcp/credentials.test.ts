// No Google credentials at all: the provider reports it, says how to provide them, and the process lives on.
// Run in child processes, so the environment (and the library's credential cache) is the test's own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const child = join(import.meta.dirname, 'fixtures', 'no-credentials.ts');
const home = mkdtempSync(join(tmpdir(), 'portcullis-gcp-home-'));

interface ChildReport {
  observe?: { name: string; transient: boolean; message: string };
  pass: { result: string; reasons: string[]; message?: string };
  status?: string;
  late: string[];
}

async function runWithout(extra: Record<string, string>): Promise<ChildReport> {
  // Nothing from the test's own environment: no ADC file in HOME, no metadata server to find.
  const env = { PATH: process.env.PATH ?? '', HOME: home, METADATA_SERVER_DETECTION: 'none', ...extra };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child], { env, cwd: join(import.meta.dirname, '..', '..', '..'), timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport;
}

describe('GCP provider without credentials', () => {
  after(() => rmSync(home, { recursive: true, force: true }));

  for (const [label, extra] of [
    ['GOOGLE_APPLICATION_CREDENTIALS points nowhere', { GOOGLE_APPLICATION_CREDENTIALS: join(home, 'missing-key.json') }],
    ['no credentials anywhere', {}],
  ] as const) {
    it(`reports a clear, permanent error and does not crash (${label})`, async () => {
      const report = await runWithout(extra);
      assert.equal(report.observe?.name, 'ProviderError');
      assert.equal(report.observe?.transient, false);
      assert.match(report.observe?.message ?? '', /^no Google Cloud credentials found \(Application Default Credentials\): set GOOGLE_APPLICATION_CREDENTIALS .*gcloud auth application-default login/);
      assert.deepEqual([report.pass.result, report.pass.reasons], ['failed', ['ObserveFailed']]);
      assert.match(report.pass.message ?? '', /^gcp: cannot observe: no Google Cloud credentials found/);
      assert.equal(report.status, 'failed');
      assert.deepEqual(report.late, []);
    });
  }
});
