// Runs one child process (FFmpeg, espeak-ng, anything) and keeps it alive: its own process group
// (so stop() takes its helpers with it), restart on exit with a growing pause, a stall detector
// (a live FFmpeg always writes stdout: media or `-progress`), and stderr boiled down to one
// readable line for /system_status. Model: MediaMTX internal/externalcmd.
//
// Children also die with the bridge: each has a stdout pipe, so when the bridge is gone (even
// SIGKILL) its next write fails with EPIPE and it exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../../common/log.ts';
import { FFMPEG_BIN, redactArgs } from './ffmpeg-args.ts';

export type SupervisorState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface SupervisorStatus {
  state: SupervisorState;
  /** Date.now() when the state last changed. */
  since: number;
  /** Restarts since start() (crashes and stalls). */
  restarts: number;
  /** The last error line FFmpeg printed (credentials removed), or why we killed it. */
  lastError: string | null;
  pid: number | null;
}

export interface SupervisorOptions {
  /** Shown in logs and status. */
  name: string;
  /** Defaults to FFmpeg. */
  command?: string;
  /** Called before every (re)start: sources may hand out fresh arguments (a new file, a new port). */
  args: () => string[];
  /** Pipe stdin (sources that feed frames, speakers that take PCM); otherwise it is closed. */
  stdin?: boolean;
  /**
   * Extra input pipes after stderr (fd 3, 4, …: FFmpeg's `pipe:3`), for a second fed input such as
   * the microphone's PCM beside video on stdin. Reach them as `child.stdio[3]` in 'spawn'.
   */
  extraPipes?: number;
  /** Parse stdout as `-progress` key=value blocks and emit 'progress' instead of 'data'. */
  progress?: boolean;
  /** Kill and restart when stdout is silent this long; 0 disables (children that may be idle). */
  stallMs?: number;
  /**
   * Before the first output, allow this long instead of stallMs (a network publisher connects and
   * authenticates before it reports anything). Defaults to stallMs.
   */
  firstOutputMs?: number;
  /** Restart after exit; false: run once (state ends 'stopped' on exit 0, else 'failed'). */
  restart?: boolean;
  /** First restart pause, doubled after each quick failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run this long resets the pause to minBackoffMs. */
  healthyAfterMs?: number;
  /** SIGTERM, then SIGKILL after this long. */
  stopGraceMs?: number;
  logger?: Logger;
}

export const DEFAULT_STALL_MS = 2000;
export const DEFAULT_MIN_BACKOFF_MS = 250;
export const DEFAULT_MAX_BACKOFF_MS = 10_000;
export const DEFAULT_HEALTHY_AFTER_MS = 10_000;
export const DEFAULT_STOP_GRACE_MS = 2000;
/** stderr lines kept to find the error in. */
const STDERR_LINES_KEPT = 12;
const ERROR_LINE = /error|invalid|failed|no such|cannot|could not|refused|unauthori[sz]ed|not found|denied|broken pipe|timed out|unable/i;

const live = new Set<FfmpegSupervisor>();

/**
 * Events: 'spawn' (ChildProcess) — write stdin / attach feeders here; 'data' (Buffer) stdout;
 * 'progress' (Record<string,string>) one `-progress` block; 'status' (SupervisorStatus);
 * 'stall' (); 'exit' ({ code, signal }).
 */
export class FfmpegSupervisor extends EventEmitter {
  readonly name: string;
  private readonly opts: Required<Omit<SupervisorOptions, 'logger' | 'command'>> & { command: string };
  private readonly log: Logger;
  private child: ChildProcess | null = null;
  private current: SupervisorStatus = { state: 'stopped', since: Date.now(), restarts: 0, lastError: null, pid: null };
  private stderrTail: string[] = [];
  private stderrPartial = '';
  private progressPartial = '';
  private progressBlock: Record<string, string> = {};
  private lastActivity = 0;
  private startedAt = 0;
  private backoffMs: number;
  private wanted = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** The child stop()/finish() is ending: its exit is expected, never restarted. */
  private stoppingChild: ChildProcess | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.name = options.name;
    this.opts = {
      name: options.name,
      command: options.command ?? FFMPEG_BIN,
      args: options.args,
      stdin: options.stdin ?? false,
      extraPipes: options.extraPipes ?? 0,
      progress: options.progress ?? false,
      stallMs: options.stallMs ?? DEFAULT_STALL_MS,
      firstOutputMs: options.firstOutputMs ?? options.stallMs ?? DEFAULT_STALL_MS,
      restart: options.restart ?? true,
      minBackoffMs: options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS,
      maxBackoffMs: options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
      healthyAfterMs: options.healthyAfterMs ?? DEFAULT_HEALTHY_AFTER_MS,
      stopGraceMs: options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    };
    this.backoffMs = this.opts.minBackoffMs;
    this.log = (options.logger ?? createLogger('media')).child(options.name);
  }

  get status(): SupervisorStatus { return { ...this.current }; }
  /** The running child's stdin (when `stdin: true`), or null between runs. */
  get stdin(): NodeJS.WritableStream | null { return this.child?.stdin ?? null; }
  get pid(): number | null { return this.child?.pid ?? null; }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    live.add(this);
    this.current.restarts = 0;
    this.backoffMs = this.opts.minBackoffMs;
    if (this.child) {
      // Restarted while a stop() is still waiting for the old child: spawn once it is gone.
      void this.exited.then(() => { if (this.wanted && !this.child && !this.restartTimer) this.spawnChild(); });
      return;
    }
    this.spawnChild();
  }

  /** Stops the child (SIGTERM, then SIGKILL after the grace period); resolves when it is gone. */
  async stop(): Promise<void> {
    this.wanted = false;
    live.delete(this);
    this.clearTimers();
    const child = this.child;
    if (child) {
      this.stoppingChild = child;
      const exited = this.exited;
      // FFmpeg blocked reading an idle stdin restarts the read after SIGTERM and sat out the whole
      // grace period (2 s per encoder on every server stop); with its input closed it ends at once.
      child.stdin?.end();
      this.killGroup(child, 'SIGTERM');
      const kill = setTimeout(() => this.killGroup(child, 'SIGKILL'), this.opts.stopGraceMs);
      await exited;
      clearTimeout(kill);
    }
    if (this.wanted) return; // start() was called meanwhile: it owns the state now
    if (this.current.state !== 'failed' || child) this.setState('stopped');
  }

  /** Closes stdin and waits for the child to finish by itself (a player draining its input). */
  async finish(timeoutMs = this.opts.stopGraceMs): Promise<void> {
    this.wanted = false;
    live.delete(this);
    this.clearTimers();
    const child = this.child;
    if (!child) return;
    this.stoppingChild = child;
    child.stdin?.end();
    const kill = setTimeout(() => this.killGroup(child, 'SIGTERM'), timeoutMs);
    const hard = setTimeout(() => this.killGroup(child, 'SIGKILL'), timeoutMs + this.opts.stopGraceMs);
    await this.exited;
    clearTimeout(kill);
    clearTimeout(hard);
    if (!this.wanted) this.setState(this.current.state === 'failed' ? 'failed' : 'stopped');
  }

  /** Kills the child now; it restarts with backoff like after a crash (tests, manual restarts). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child) this.killGroup(this.child, signal);
  }

  /** Stops every supervisor still running (shutdown). */
  static async stopAll(): Promise<void> {
    await Promise.all([...live].map((s) => s.stop()));
  }

  private spawnChild(): void {
    if (!this.wanted) return;
    let args: string[];
    try {
      args = this.opts.args();
    } catch (err) {
      this.fail(`bad arguments: ${(err as Error).message}`);
      return;
    }
    this.stderrTail = [];
    this.stderrPartial = '';
    this.progressPartial = '';
    this.progressBlock = {};
    const child = spawn(this.opts.command, args, {
      detached: true,
      stdio: [this.opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...Array<'pipe'>(this.opts.extraPipes).fill('pipe')],
    });
    this.child = child;
    this.startedAt = Date.now();
    this.lastActivity = this.startedAt;
    let resolveExit!: () => void;
    this.exited = new Promise((r) => { resolveExit = r; });
    this.log.info('spawn', { command: this.opts.command, args: redactArgs(args), pid: child.pid });
    this.current.pid = child.pid ?? null;
    this.setState('starting');

    // A child that dies while we write must not take the bridge with it.
    child.stdin?.on('error', () => {});
    for (let fd = 3; fd < 3 + this.opts.extraPipes; fd++) (child.stdio[fd] as NodeJS.WritableStream | null)?.on('error', () => {});
    child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.onStderr(chunk));
    child.once('error', (err: NodeJS.ErrnoException) => {
      // spawn failed (ENOENT): no 'close' follows a failed spawn on every Node version, so finish here.
      if (this.child !== child) return;
      this.child = null;
      resolveExit();
      this.fail(err.code === 'ENOENT' ? `${this.opts.command} not found` : err.message);
    });
    child.once('close', (code, signal) => {
      if (this.child !== child) { resolveExit(); return; }
      this.child = null;
      this.current.pid = null;
      this.stopStallTimer();
      const expected = this.stoppingChild === child;
      if (expected) this.stoppingChild = null;
      if (expected) {
        this.emit('exit', { code, signal });
        resolveExit();
        return;
      }
      resolveExit();
      this.onExit(code, signal);
    });
    if (this.opts.stallMs > 0) {
      this.stallTimer = setInterval(() => this.checkStall(), Math.max(50, Math.floor(this.opts.stallMs / 4)));
    }
    this.emit('spawn', child);
  }

  private onStdout(chunk: Buffer): void {
    this.lastActivity = Date.now();
    if (this.current.state === 'starting') {
      this.setState('running');
    }
    if (Date.now() - this.startedAt > this.opts.healthyAfterMs) this.backoffMs = this.opts.minBackoffMs;
    if (!this.opts.progress) {
      this.emit('data', chunk);
      return;
    }
    const text = this.progressPartial + chunk.toString('latin1');
    const lines = text.split('\n');
    this.progressPartial = lines.pop() ?? '';
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      this.progressBlock[key] = value;
      if (key === 'progress') {
        this.emit('progress', this.progressBlock);
        this.progressBlock = {};
      }
    }
  }

  private onStderr(chunk: Buffer): void {
    const text = this.stderrPartial + chunk.toString('utf8');
    const lines = text.split(/\r?\n|\r/);
    this.stderrPartial = (lines.pop() ?? '').slice(-1000);
    for (const raw of lines) {
      const line = sanitize(raw);
      if (!line) continue;
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
      if (ERROR_LINE.test(line)) this.log.warn('stderr', { line });
      else this.log.debug('stderr', { line });
    }
  }

  private checkStall(): void {
    const limit = this.current.state === 'starting' ? Math.max(this.opts.stallMs, this.opts.firstOutputMs) : this.opts.stallMs;
    if (!this.child || Date.now() - this.lastActivity <= limit) return;
    const reason = `stalled: no output for ${Math.round((Date.now() - this.lastActivity) / 100) / 10} s`;
    this.log.warn('stall', { pid: this.child.pid, stallMs: this.opts.stallMs });
    this.current.lastError = reason;
    this.stopStallTimer();
    this.emit('stall');
    this.killGroup(this.child, 'SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const runMs = Date.now() - this.startedAt;
    const error = this.errorFromStderr();
    if (error && (code !== 0 || !this.wanted)) this.current.lastError = error;
    else if (code !== 0 && signal === null && this.wanted) this.current.lastError = `exited with code ${code}`;
    this.emit('exit', { code, signal });
    if (!this.wanted) return; // stop()/finish() owns the final state
    this.log.warn('exit', { code, signal, runMs, lastError: this.current.lastError });
    if (!this.opts.restart) {
      this.wanted = false;
      live.delete(this);
      this.setState(code === 0 ? 'stopped' : 'failed');
      return;
    }
    if (runMs > this.opts.healthyAfterMs) this.backoffMs = this.opts.minBackoffMs;
    const pause = this.backoffMs;
    this.backoffMs = Math.min(this.opts.maxBackoffMs, this.backoffMs * 2);
    this.current.restarts++;
    this.setState('restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawnChild();
    }, pause);
  }

  private errorFromStderr(): string | null {
    const tail = [...this.stderrTail, sanitize(this.stderrPartial)].filter(Boolean);
    for (let i = tail.length - 1; i >= 0; i--) if (ERROR_LINE.test(tail[i]!)) return tail[i]!;
    return tail.length ? tail[tail.length - 1]! : null;
  }

  private fail(reason: string): void {
    this.log.error('failed', { reason });
    this.current.lastError = reason;
    this.current.pid = null;
    this.wanted = false;
    live.delete(this);
    this.clearTimers();
    this.setState('failed');
  }

  private setState(state: SupervisorState): void {
    if (this.current.state === state) return;
    this.current.state = state;
    this.current.since = Date.now();
    this.emit('status', this.status);
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      try { child.kill(signal); } catch { /* already gone */ }
    }
  }

  private stopStallTimer(): void {
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
  }

  private clearTimers(): void {
    this.stopStallTimer();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
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
