// Makes the robot's certificate authority and its HTTPS certificate at install time, with the
// bridge's own code (bridge/http/tls.ts; the bridge would make them on its first start too), so
// the installer can print where phones download the CA and the fingerprint to compare on the
// phone before trusting it. A certificate of the owner's own (https.cert_path) is left as it is.
//
//   node --import tsx deploy/pi/make-tls.ts --data-dir /var/lib/havatar [--https-port 5443]

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { caFingerprint, robotNames } from '../../bridge/http/ca.ts';
import { loadOrCreateTls, tlsDir } from '../../bridge/http/tls.ts';
import { ConfigStore } from '../../bridge/config/store.ts';
import { createLogger } from '../../common/log.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'https-port': { type: 'string', default: '5443' } } });
  const dataDir = values['data-dir'];
  if (!dataDir) {
    console.error('usage: make-tls.ts --data-dir DIR [--https-port 5443]');
    process.exit(2);
  }
  const log = createLogger('tls');
  const config = await ConfigStore.open(dataDir, log.child('config'));
  const tls = await loadOrCreateTls(dataDir, config.get(), log);
  if (tls.source === 'config') {
    console.log(`HTTPS uses your own certificate (https.cert_path ${config.get().https.cert_path}): no robot CA made.`);
    return;
  }
  const names = robotNames();
  const host = names.dns.find((n) => n.endsWith('.local') && n !== 'havatar.local') ?? names.ips.find((ip) => ip !== '127.0.0.1') ?? 'localhost';
  console.log([
    `Robot certificate authority: ${tlsDir(dataDir)}/ca.pem`,
    `  SHA-256 ${await caFingerprint(tlsDir(dataDir))}`,
    `  Phones download it from http://${host}:5000/ca.crt (or https://${host}:${values['https-port']}/ca.crt)`,
    '  and trust it once (docs/SETUP_ROBOT.md, "Trust the robot"): the app then installs and starts offline.',
  ].join('\n'));
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) await main();
