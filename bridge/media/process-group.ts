// A child in its own process group, so a signal to the group takes the helpers it forks (a shell's
// children, FFmpeg's) with it. Every pipe is kept, so a child dies with the bridge: once the
// bridge is gone (even SIGKILL) its next write to stdout fails with EPIPE and it exits.

import { spawn, type ChildProcess } from 'node:child_process';

export interface GroupPipes {
  /** Pipe stdin; otherwise it is closed. */
  stdin: boolean;
  /** Extra input pipes after stderr (fd 3, 4, …). */
  extraPipes: number;
}

export function spawnInGroup(command: string, args: string[], pipes: GroupPipes): ChildProcess {
  const child = spawn(command, args, {
    detached: true,
    stdio: [pipes.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...Array<'pipe'>(pipes.extraPipes).fill('pipe')],
  });
  // A child that dies while we write must not take the bridge with it.
  child.stdin?.on('error', () => {});
  for (let fd = 3; fd < 3 + pipes.extraPipes; fd++) (child.stdio[fd] as NodeJS.WritableStream | null)?.on('error', () => {});
  return child;
}

/** Signals the child's group; a child already gone (or never started) is left alone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}
