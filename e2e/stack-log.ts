// The stack's own log lines, kept (the last few hundred) so that a failing end-to-end test prints
// what the bridge, relay and MediaMTX said while it ran: a CI failure is then readable from its log.
import type { StackOptions } from '../scripts/stack.ts';

export class StackLog {
  private lines: string[] = [];
  /** `keep`: lines held (HAVATAR_E2E_LOG_LINES, 300 by default). */
  constructor(private keep = Number(process.env.HAVATAR_E2E_LOG_LINES ?? 300)) {}

  readonly log: NonNullable<StackOptions['log']> = (name, line) => {
    this.lines.push(`${new Date().toISOString().slice(11, 23)} ${name}: ${line}`);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
  };

  /** Wraps a test body: on failure the lines logged since it began are printed (as TAP comments), then the error is rethrown. */
  dumpOnFailure(body: () => Promise<void>): () => Promise<void> {
    return async () => {
      this.lines = [];
      try {
        await body();
      } catch (err) {
        console.log(this.lines.map((l) => `# ${l}`).join('\n'));
        throw err;
      }
    };
  }
}
