// FFmpeg's `-progress pipe:1` output: key=value lines, one block per report, each block closed by
// a `progress=continue|end` line. Chunks from the pipe split lines anywhere, so a partial line is
// carried over to the next chunk.

export class ProgressBlocks {
  private partial = '';
  private block: Record<string, string> = {};

  constructor(private readonly onBlock: (block: Record<string, string>) => void) {}

  /** A new child: a half-read block of its predecessor must not leak into the first report. */
  reset(): void {
    this.partial = '';
    this.block = {};
  }

  push(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      this.block[key] = line.slice(eq + 1).trim();
      if (key === 'progress') {
        const done = this.block;
        this.block = {};
        this.onBlock(done);
      }
    }
  }
}
