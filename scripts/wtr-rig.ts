// A real relay and a real bridge (on the ESP32 simulator) for a browser test, started by
// scripts/wtr-rig-plugin.mjs when the test asks for them. The relay lets the page's origin call it
// (APP_ORIGINS) and has one robot registered; the bridge's server_mode block names that relay and
// robot, turned off. Prints one JSON line once everything is ready; stops everything it started
// when its stdin closes (the plugin ends it, or dies).
//   node --import tsx scripts/wtr-rig.ts <page origin>
import { freePort } from './stack.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRig, TOKEN, type Rig } from '../bridge/test/harness.ts';
import { registerRobot, sessionFor, startRelay, stopAll } from '../server/test/helpers.ts';

const ROBOT = 'form-bot';


async function main(): Promise<void> {
  const origin = process.argv[2];
  if (!origin) throw new Error('usage: wtr-rig.ts <page origin>');
  let rig: Rig | null = null;
  const stop = async () => {
    await rig?.stop();
    await stopAll();
    process.exit(0);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.on('SIGTERM', () => void stop());

  const relay = await startRelay({ env: { APP_ORIGINS: origin } });
  const password = await registerRobot(relay.url, ROBOT);
  const session = await sessionFor(relay.url, ROBOT, 'viewer');
  // The bridge's RTSP target: a port nothing listens on (no MediaMTX in this rig).
  const rtsp = `rtsp://127.0.0.1:${await freePort()}`;
  rig = await startRig({
    prepare: (dir) => writeFileSync(join(dir, 'avatar_tank_config.json'), JSON.stringify({
      camera: { device: 'sim', width: 320, height: 240, fps: 10 },
      server_mode: { enabled: false, server_url: relay.url, stream_key: ROBOT, stream_password: password, fallback_to_local: true, rtsp_url: rtsp },
    })),
  });
  process.stdout.write(`${JSON.stringify({ bridge: rig.http, token: TOKEN, relay: relay.url, robot: ROBOT, password, session, rtsp })}\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`wtr-rig: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll();
  process.exit(1);
});
