// A child's stderr boiled down to one readable line for /system_status: the last lines are kept
// (credentials removed, length bounded) so the error that explains an exit can be found in them.
// FFmpeg prints its real error a few lines before it exits, often followed by summary noise.

import type { Logger } from '../../common/log.ts';

/** stderr lines kept to find the error in. */
const STDERR_LINES_KEPT = 12;
const ERROR_LINE = /error|invalid|failed|no such|cannot|could not|refused|unauthori[sz]ed|not found|denied|broken pipe|timed out|unable/i;

export class StderrTail {
  private lines: string[] = [];
  private partial = '';

  constructor(private readonly log: Logger) {}

  /** A new child: its predecessor's lines would explain the wrong exit. */
  reset(): void {
    this.lines = [];
    this.partial = '';
  }

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split(/\r?\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-1000);
    for (const raw of lines) {
      const line = sanitize(raw);
      if (!line) continue;
      this.lines.push(line);
      if (this.lines.length > STDERR_LINES_KEPT) this.lines.shift();
      if (ERROR_LINE.test(line)) this.log.warn('stderr', { line });
      else this.log.debug('stderr', { line });
    }
  }

  /** The last line that reads like an error, else the last line; null when it printed nothing. */
  error(): string | null {
    const tail = [...this.lines, sanitize(this.partial)].filter(Boolean);
    for (let i = tail.length - 1; i >= 0; i--) if (ERROR_LINE.test(tail[i]!)) return tail[i]!;
    return tail.length ? tail[tail.length - 1]! : null;
  }
}

/** One stderr line made safe and short: no credentials from URLs, bounded length. */
function sanitize(line: string): string {
  return line
    .replace(/(\w+:\/\/)[^/@\s]*@/g, '$1***@')
    .replace(/(\w+:\/\/[^\s?]*)\?\S*/g, '$1?…')
    .trim()
    .slice(0, 300);
}
