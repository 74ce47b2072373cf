// The server-mode stack the end-to-end tests drive: the bridge and simulator plus the real relay and
// MediaMTX, all on loopback with free ports, the app's origin being the bridge; ready once the
// robot publishes its stream to MediaMTX.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { distinctFreePorts, freePorts, startStack, type Stack, type StackOptions } from '../scripts/stack.ts';
import { launchChromium } from './browser.ts';
import type { StackLog } from './stack-log.ts';
import { waitFor } from '../common/wait.ts';

export async function startServerStack(log: NonNullable<StackOptions['log']>, dataDir: string): Promise<Stack> {
  const taken = new Set<number>();
  const ports = await freePorts(taken);
  const bridgeOrigin = `http://127.0.0.1:${ports.bridge}`;
  const stack = await startStack({
    log,
    dataDir,
    ports,
    server: {
      ports: await distinctFreePorts(['relay', 'rtsp', 'webrtc', 'webrtcUdp', 'hls', 'api', 'metrics', 'playback'] as const, taken),
      appOrigins: [bridgeOrigin],
      appUrl: `${bridgeOrigin}/`,
    },
  });
  await waitFor('the robot publishing to MediaMTX', async () => {
    const r = await fetch(`${stack.server!.mediamtxApiUrl}/v3/paths/get/robots/sim`, { headers: stack.server!.mediamtxApiHeaders }).catch(() => null);
    return r?.ok ? ((await r.json()) as { ready: boolean }).ready : false;
  }, (ready) => ready, 20_000);
  return stack;
}

/**
 * One test file's server-mode stack and Chromium: started before its tests (the stack's log
 * dumped if that fails), stopped after, its data folder removed.
 */
export function serverStackFixture(prefix: string, stackLog: StackLog): { stack: Stack; browser: Browser } {
  const fx = {} as { stack: Stack; browser: Browser };
  let dataDir = '';
  before(stackLog.dumpOnFailure(async () => {
    dataDir = mkdtempSync(join(tmpdir(), prefix));
    fx.stack = await startServerStack(stackLog.log, dataDir);
    fx.browser = await launchChromium({ nice: 10 });
  }));
  after(async () => {
    await fx.browser?.close();
    await fx.stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return fx;
}
