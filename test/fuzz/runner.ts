// The pure pipeline in a worker thread (pipeline-worker.ts): each run is bounded in time and heap, so a
// hang is terminated rather than waited for, a memory bomb dies alone, and both are outcomes a test can
// assert on instead of a stuck or crashed test runner.
import { Worker } from 'node:worker_threads';
import type { SettingsSource } from '../../agent/manifest/settings.js';
import type { DesiredState } from '../../agent/model.js';

/** One input may take this long through the pipeline before it counts as a hang (the machine is shared and slow). */
export const CASE_BOUND_MS = Number(process.env.FUZZ_CASE_MS ?? 10_000);
/** The worker's heap: an input that needs more is a memory bomb that got through. */
export const HEAP_MB = 512;

export interface PipelineRequest {
  id: number;
  revision: string;
  files: Record<string, string>;
  adminSettings?: SettingsSource;
}

export type Outcome = { kind: 'ok'; desired: DesiredState; ms: number } | { kind: 'crash'; error: string; ms: number } | { kind: 'hang'; ms: number };

type Reply = { id: number; kind: 'ok'; desired: DesiredState; ms: number } | { id: number; kind: 'crash'; error: string; ms: number };

/** desiredState() in a worker thread: each run is bounded in time and memory, and a crash or a hang is an outcome. */
export class PipelineRunner {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private pending: { id: number; resolve(outcome: Outcome): void; started: number } | undefined;

  /** Public so a test can tighten or relax it between runs. */
  constructor(public boundMs = CASE_BOUND_MS) {}

  private start(): Promise<void> {
    // tsx registers its hooks in the worker before the worker's own TypeScript is imported.
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./pipeline-worker.ts', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
    });
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      const onStartFailure = (error: Error) => reject(new Error(`the pipeline worker did not start: ${error.message}`));
      worker.once('error', onStartFailure);
      worker.once('message', () => {
        worker.off('error', onStartFailure);
        worker.on('message', (reply: Reply) => this.settle(reply.id, reply.kind === 'ok' ? { kind: 'ok', desired: reply.desired, ms: reply.ms } : { kind: 'crash', error: reply.error, ms: reply.ms }));
        // Out of memory, a stack the worker could not recover from: the case crashed the pipeline.
        worker.on('error', (error) => this.fail({ kind: 'crash', error: `worker died: ${error.message}`, ms: this.elapsed() }));
        worker.on('exit', (code) => this.fail({ kind: 'crash', error: `worker exited with code ${code}`, ms: this.elapsed() }));
        resolve();
      });
    });
    return this.ready;
  }

  private elapsed(): number {
    return this.pending ? performance.now() - this.pending.started : 0;
  }

  private settle(id: number, outcome: Outcome): void {
    if (this.pending?.id !== id) return;
    const { resolve } = this.pending;
    this.pending = undefined;
    resolve(outcome);
  }

  private fail(outcome: Outcome): void {
    if (this.pending) this.settle(this.pending.id, outcome);
    this.worker = undefined;
  }

  async run(files: Record<string, string>, adminSettings?: SettingsSource, revision = 'head'): Promise<Outcome> {
    if (!this.worker) await this.start();
    await this.ready;
    const worker = this.worker!;
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      const started = performance.now();
      const timer = setTimeout(() => {
        this.settle(id, { kind: 'hang', ms: performance.now() - started });
        this.worker = undefined;
        worker.removeAllListeners();
        void worker.terminate();
      }, this.boundMs);
      this.pending = {
        id,
        started,
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      worker.postMessage({ id, revision, files, ...(adminSettings ? { adminSettings } : {}) } satisfies PipelineRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners();
      await worker.terminate();
    }
  }
}
