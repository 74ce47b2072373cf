// web-test-runner plugin: a browser test gets a real relay and a real bridge (scripts/wtr-rig.ts):
// `executeServerCommand('havatar-rig-start', { origin: location.origin })` starts them and answers
// at once; `executeServerCommand('havatar-rig-info')` answers { ready: true, …their addresses and
// credentials } once they are up, or { ready: false } after RIG_INFO_WAIT_MS while they are still
// starting (ask again; null would mean "not this plugin's command" to the test runner), or fails
// with the rig's error. Two steps because the browser gives up on any one command after 20 s, and
// on a loaded machine the rig can take longer. `havatar-rig-stop` ends them. One rig at a time;
// whatever is left is stopped when the test server stops.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
/** Below the browser's 20 s limit on one command. */
const RIG_INFO_WAIT_MS = 10_000;

export function havatarRigPlugin() {
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  /** The rig being started or up: resolves to its info, rejects with why it did not start. */
  let ready = null;

  async function stop() {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.stdin?.end(); // the rig stops everything it started, then exits
    const timer = setTimeout(() => { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }, STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  async function start(origin) {
    await stop();
    ready = launch(origin);
    ready.catch(() => {}); // reported by the next havatar-rig-info
  }

  async function info() {
    if (!ready) throw new Error('no rig: call havatar-rig-start first');
    let timer;
    const later = new Promise((resolve) => { timer = setTimeout(() => resolve(null), RIG_INFO_WAIT_MS); });
    try {
      const up = await Promise.race([ready, later]);
      return up ? { ready: true, ...up } : { ready: false };
    } finally {
      clearTimeout(timer);
    }
  }

  async function launch(origin) {
    // Its own process group, so a stuck rig can be killed with everything it started.
    const c = spawn(process.execPath, ['--import', 'tsx', 'scripts/wtr-rig.ts', origin], { cwd: ROOT, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    const errors = [];
    createInterface({ input: c.stderr }).on('line', (l) => { errors.push(l); if (errors.length > 40) errors.shift(); });
    const lines = createInterface({ input: c.stdout });
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { void stop(); reject(new Error(`the rig did not start in ${START_TIMEOUT_MS} ms:\n${errors.join('\n')}`)); }, START_TIMEOUT_MS);
      lines.once('line', (l) => { clearTimeout(timer); resolve(JSON.parse(l)); });
      c.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the rig exited (${code}):\n${errors.join('\n')}`)); });
    });
  }

  return {
    name: 'havatar-rig',
    async executeCommand({ command, payload }) {
      if (command === 'havatar-rig-start') { await start(String(payload?.origin ?? '')); return true; }
      if (command === 'havatar-rig-info') return info();
      if (command === 'havatar-rig-stop') { ready = null; await stop(); return true; }
      return undefined;
    },
    async serverStop() { await stop(); },
  };
}
