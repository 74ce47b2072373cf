// web-test-runner plugin: a browser test gets a real relay and a real bridge (scripts/wtr-rig.ts)
// with `executeServerCommand('havatar-rig-start', { origin: location.origin })`, which resolves to
// their addresses and credentials, and ends them with `executeServerCommand('havatar-rig-stop')`.
// One rig at a time; whatever is left is stopped when the test server stops.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export function havatarRigPlugin() {
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;

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
      if (command === 'havatar-rig-start') return start(String(payload?.origin ?? ''));
      if (command === 'havatar-rig-stop') { await stop(); return true; }
      return undefined;
    },
    async serverStop() { await stop(); },
  };
}
