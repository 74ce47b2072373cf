// Runs one child process (FFmpeg, espeak-ng, anything) and keeps it alive: its own process group
// (so stop() takes its helpers with it), restart on exit with a growing pause, a stall detector
// (a live FFmpeg always writes stdout: media or `-progress`), and stderr boiled down to one
// readable line for /system_status. Model: MediaMTX internal/externalcmd.
//
// The lifecycle is supervisor-states.ts's table; every timer lives in one Timers, cleared on
// every way out (stop, finish, failure, a run-once child's end), so none outlives the child.

import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Backoff } from '../../common/backoff.ts';
import { createLogger, type Logger } from '../../common/log.ts';
import { StateMachine, Timers } from '../../common/state-machine.ts';
import { redactArgs } from './ffmpeg-args.ts';
import { killGroup, spawnInGroup } from './process-group.ts';
import { ProgressBlocks } from './progress-blocks.ts';
import { StderrTail } from './stderr-tail.ts';
import { withDefaults, type ResolvedOptions, type SupervisorOptions } from './supervisor-options.ts';
import { SUPERVISOR_TRANSITIONS, type Lifecycle, type SupervisorState } from './supervisor-states.ts';

export type { Lifecycle, SupervisorState } from './supervisor-states.ts';
export type { SupervisorOptions } from './supervisor-options.ts';

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

const live = new Set<FfmpegSupervisor>();

/**
 * Events: 'spawn' (ChildProcess) — write stdin / attach feeders here; 'data' (Buffer) stdout;
 * 'progress' (Record<string,string>) one `-progress` block; 'status' (SupervisorStatus);
 * 'stall' (); 'exit' ({ code, signal }).
 */
export class FfmpegSupervisor extends EventEmitter {
  readonly name: string;
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly machine: StateMachine<Lifecycle>;
  /** 'stall' (the check), 'restart' (the pause), 'term' and 'kill' (ending a child on stop/finish). */
  private readonly timers = new Timers();
  private readonly backoff: Backoff;
  private readonly stderr: StderrTail;
  private readonly progress: ProgressBlocks;
  private child: ChildProcess | null = null;
  private current: SupervisorStatus = { state: 'stopped', since: Date.now(), restarts: 0, lastError: null, pid: null };
  private lastActivity = 0;
  private startedAt = 0;
  /** start() was called and no stop()/finish()/failure since: exits are restarted. */
  private wanted = false;
  private exited: Promise<void> = Promise.resolve();
  /** The child stop()/finish() is ending: its exit is expected, never restarted. */
  private stoppingChild: ChildProcess | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.name = options.name;
    this.opts = withDefaults(options);
    this.log = (options.logger ?? createLogger('media')).child(options.name);
    this.machine = new StateMachine<Lifecycle>(`supervisor ${options.name}`, 'stopped', SUPERVISOR_TRANSITIONS);
    // Exact pauses: nobody else restarts this child, so there is no herd to spread out.
    this.backoff = new Backoff({ baseMs: this.opts.minBackoffMs, maxMs: this.opts.maxBackoffMs });
    this.stderr = new StderrTail(this.log);
    this.progress = new ProgressBlocks((block) => this.emit('progress', block));
  }

  get status(): SupervisorStatus { return { ...this.current }; }
  /** Where the lifecycle is, 'stopping' included (status.state hides it). */
  get lifecycle(): Lifecycle { return this.machine.state; }
  /** The running child's stdin (when `stdin: true`), or null between runs. */
  get stdin(): NodeJS.WritableStream | null { return this.child?.stdin ?? null; }
  get pid(): number | null { return this.child?.pid ?? null; }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    live.add(this);
    this.current.restarts = 0;
    this.backoff.reset();
    if (this.child) {
      // Restarted while a stop() is still waiting for the old child: spawn once it is gone.
      void this.exited.then(() => { if (this.wanted && !this.child && !this.timers.has('restart')) this.spawnChild(); });
      return;
    }
    this.spawnChild();
  }

  /** Stops the child (SIGTERM, then SIGKILL after the grace period); resolves when it is gone. */
  async stop(): Promise<void> {
    this.unwant();
    const child = this.child;
    if (child) {
      const exited = this.beginStopping(child);
      killGroup(child, 'SIGTERM');
      this.timers.after(this.opts.stopGraceMs, () => killGroup(child, 'SIGKILL'), 'kill');
      await exited;
      this.timers.clear('kill');
    }
    if (this.wanted) return; // start() was called meanwhile: it owns the state now
    if (!this.machine.is('failed') || child) this.setState('stopped');
  }

  /** Closes stdin and waits for the child to finish by itself (a player draining its input). */
  async finish(timeoutMs = this.opts.stopGraceMs): Promise<void> {
    this.unwant();
    const child = this.child;
    if (child) {
      const exited = this.beginStopping(child);
      this.timers.after(timeoutMs, () => killGroup(child, 'SIGTERM'), 'term');
      this.timers.after(timeoutMs + this.opts.stopGraceMs, () => killGroup(child, 'SIGKILL'), 'kill');
      await exited;
      this.timers.clear('term');
      this.timers.clear('kill');
    }
    // Also between runs: with the restart pause cancelled, 'restarting' would be a promise nobody keeps.
    if (!this.wanted && !this.machine.is('failed')) this.setState('stopped');
  }

  /** Kills the child now; it restarts with backoff like after a crash (tests, manual restarts). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child) killGroup(this.child, signal);
  }

  /** Stops every supervisor still running (shutdown). */
  static async stopAll(): Promise<void> {
    await Promise.all([...live].map((s) => s.stop()));
  }

  private unwant(): void {
    this.wanted = false;
    live.delete(this);
    this.timers.clearAll();
  }

  /** Marks `child`'s coming exit as expected; resolves once it is gone. */
  private beginStopping(child: ChildProcess): Promise<void> {
    this.stoppingChild = child;
    this.setState('stopping');
    // FFmpeg blocked reading an idle stdin restarts the read after SIGTERM and sat out the whole
    // grace period (2 s per encoder on every server stop); with its input closed it ends at once.
    child.stdin?.end();
    return this.exited;
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
    this.stderr.reset();
    this.progress.reset();
    const child = spawnInGroup(this.opts.command, args, this.opts);
    this.child = child;
    this.startedAt = Date.now();
    this.lastActivity = this.startedAt;
    let resolveExit!: () => void;
    this.exited = new Promise((r) => { resolveExit = r; });
    this.log.info('spawn', { command: this.opts.command, args: redactArgs(args), pid: child.pid });
    this.current.pid = child.pid ?? null;
    this.setState('starting');

    child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    child.once('error', (err: NodeJS.ErrnoException) => {
      // spawn failed (ENOENT): no 'close' follows a failed spawn on every Node version, so finish here.
      if (this.child !== child) return;
      this.child = null;
      resolveExit();
      this.fail(err.code === 'ENOENT' ? `${this.opts.command} not found` : err.message);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.child === child) this.onClose(child, code, signal);
      resolveExit();
    });
    if (this.opts.stallMs > 0) {
      this.timers.every(Math.max(50, Math.floor(this.opts.stallMs / 4)), () => this.checkStall(), 'stall');
    }
    this.emit('spawn', child);
  }

  private onStdout(chunk: Buffer): void {
    this.lastActivity = Date.now();
    if (this.machine.is('starting')) this.setState('running');
    if (Date.now() - this.startedAt > this.opts.healthyAfterMs) this.backoff.reset();
    if (this.opts.progress) this.progress.push(chunk);
    else this.emit('data', chunk);
  }

  private checkStall(): void {
    const limit = this.machine.is('starting') ? Math.max(this.opts.stallMs, this.opts.firstOutputMs) : this.opts.stallMs;
    if (!this.child || Date.now() - this.lastActivity <= limit) return;
    const reason = `stalled: no output for ${Math.round((Date.now() - this.lastActivity) / 100) / 10} s`;
    this.log.warn('stall', { pid: this.child.pid, stallMs: this.opts.stallMs });
    this.current.lastError = reason;
    this.timers.clear('stall');
    this.emit('stall');
    killGroup(this.child, 'SIGKILL');
  }

  /** The current child is gone: expected (stop/finish) or not (crash, stall, kill()). */
  private onClose(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    this.current.pid = null;
    this.timers.clear('stall');
    if (this.stoppingChild !== child) {
      this.onExit(code, signal);
      return;
    }
    this.stoppingChild = null;
    this.emit('exit', { code, signal });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const runMs = Date.now() - this.startedAt;
    const error = this.stderr.error();
    if (error && (code !== 0 || !this.wanted)) this.current.lastError = error;
    else if (code !== 0 && signal === null && this.wanted) this.current.lastError = `exited with code ${code}`;
    this.emit('exit', { code, signal });
    if (!this.wanted) return; // stop()/finish() owns the final state
    this.log.warn('exit', { code, signal, runMs, lastError: this.current.lastError });
    if (!this.opts.restart) {
      this.unwant();
      this.setState(code === 0 ? 'stopped' : 'failed');
      return;
    }
    if (runMs > this.opts.healthyAfterMs) this.backoff.reset();
    const pause = this.backoff.next();
    this.current.restarts++;
    this.setState('restarting');
    this.timers.after(pause, () => this.spawnChild(), 'restart');
  }

  private fail(reason: string): void {
    this.log.error('failed', { reason });
    this.current.lastError = reason;
    this.current.pid = null;
    this.unwant();
    this.setState('failed');
  }

  /** Moves the lifecycle; reports a new state to callers ('stopping' is never reported). */
  private setState(next: Lifecycle): void {
    if (this.machine.state === next || !this.machine.to(next)) return;
    if (next === 'stopping' || this.current.state === next) return;
    this.current.state = next;
    this.current.since = Date.now();
    this.emit('status', this.status);
  }
}
