/** Why a pass runs: shown in logs and counted in metrics. */
export type Trigger = 'startup' | 'poll' | 'watch' | 'webhook' | 'resync' | 'api' | 'drift' | 'retry';

/**
 * Runs passes one at a time. Triggers that arrive while a pass runs coalesce into exactly one more pass,
 * which sees them all: a storm of a hundred webhooks costs two passes, not a hundred.
 */
export class PassScheduler {
  private running: Promise<void> | undefined;
  private pending = new Set<Trigger>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly runPass: (triggers: Trigger[]) => Promise<void>) {}

  /** Asks for a pass; resolves when a pass that started after this call has finished. */
  request(trigger: Trigger): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pending.add(trigger);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.running) this.running = this.drain();
    return done;
  }

  /** Resolves when no pass is running or pending. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** No new passes start; the one running finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    await this.idle();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const triggers = [...this.pending];
        const waiters = this.waiters;
        this.pending = new Set();
        this.waiters = [];
        try {
          await this.runPass(triggers);
        } catch {
          // runPass records its own failures; the scheduler only guarantees the next pass still runs.
        }
        for (const resolve of waiters) resolve();
      }
    } finally {
      for (const resolve of this.waiters.splice(0)) resolve();
      this.running = undefined;
    }
  }
}
