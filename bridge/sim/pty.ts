// A pair of connected pseudo-terminals made by socat: the bridge opens one end exactly as it would
// open /dev/ttyUSB0, the simulated ESP32 opens the other.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/log.ts';

const log = createLogger('sim.pty');

/** socat creates the links asynchronously: how long we wait for them before giving up. */
export const PTY_READY_TIMEOUT_MS = 3000;
const POLL_MS = 10;

export interface PtyPair {
  /** The end the bridge opens (stands for /dev/ttyUSB0). */
  hostPath: string;
  /** The end the simulated ESP32 opens. */
  devicePath: string;
  /** Kills socat (which removes both links) and removes the folder when we made it. */
  close(): Promise<void>;
}

export interface PtyOptions {
  /**
   * true (default): socat gets its own process group, killed as a group on close. false: it stays
   * in our group, so whoever kills our group (a test, a supervisor) takes socat down with us even
   * when we die by SIGKILL and cannot clean up.
   */
  ownGroup?: boolean;
}

export async function createPtyPair(dir?: string, opts: PtyOptions = {}): Promise<PtyPair> {
  const ownGroup = opts.ownGroup ?? true;
  const ownDir = dir === undefined;
  const base = dir ?? mkdtempSync(join(tmpdir(), 'havatar-pty-'));
  // socat replaces stale links left by a crashed run, but cannot create their folder.
  if (!ownDir) mkdirSync(base, { recursive: true });
  const hostPath = join(base, 'ttyHOST');
  const devicePath = join(base, 'ttyESP');
  const child = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`],
    { detached: ownGroup, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { if (stderr.length < 4000) stderr += d; });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => { exited = true; resolve(); });
    child.once('error', (err) => { exited = true; stderr += String(err); resolve(); });
  });

  const cleanupDir = () => { if (ownDir) rmSync(base, { recursive: true, force: true }); };
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (ownGroup) process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch { /* already gone */ }
  };
  const kill = async () => {
    if (!exited && child.pid !== undefined) {
      signal('SIGTERM');
      const hard = setTimeout(() => signal('SIGKILL'), 500);
      await exitPromise;
      clearTimeout(hard);
    }
    cleanupDir();
  };

  const deadline = Date.now() + PTY_READY_TIMEOUT_MS;
  while (!(existsSync(hostPath) && existsSync(devicePath))) {
    if (exited || Date.now() > deadline) {
      await kill();
      throw new Error(`socat did not create the pty pair: ${stderr.trim() || 'timeout'}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  log.debug('pty pair ready', { hostPath, devicePath, pid: child.pid });
  let closing: Promise<void> | null = null;
  return { hostPath, devicePath, close: () => (closing ??= kill()) };
}
