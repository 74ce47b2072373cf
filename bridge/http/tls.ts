// The HTTPS certificate: the user's own (config https.cert_path/key_path, never touched), or one
// signed by the robot's own CA (ca.ts), made on first start in <data dir>/tls/ and re-issued when
// the robot's names or addresses change. The phone trusts the CA once (GET /ca.crt,
// docs/SETUP_ROBOT.md); after that the app installs and starts offline from https://<robot>:5443.

import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.ts';
import type { Config } from '../config/schema.ts';
import {
  caCertDer, caFingerprint, ensureCa, exists, issueServerCert, permittedNames, readConstraints, robotNames, serverCertProblem,
  SERVER_CERT, SERVER_KEY, type RobotNames,
} from './ca.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  source: 'config' | 'robot-ca';
  /** The robot CA's certificate (DER) for GET /ca.crt; null with the user's own certificate. */
  caCert: Buffer | null;
}

export const tlsDir = (dataDir: string) => join(dataDir, 'tls');

/**
 * A certificate from before the robot CA (self-signed, cert.pem/key.pem) is kept beside, renamed,
 * not deleted: nothing a user made or accepted is lost, and it can be put back by hand.
 */
async function keepOldSelfSigned(dir: string, log: Logger): Promise<void> {
  const old = join(dir, 'self-signed-cert.pem');
  if (await exists(old)) return;
  await rename(join(dir, SERVER_CERT), old);
  if (await exists(join(dir, SERVER_KEY))) await rename(join(dir, SERVER_KEY), join(dir, 'self-signed-key.pem'));
  log.info('kept the previous self-signed certificate beside the new one', { path: old });
}

/** Makes the CA if needed and (re-)issues the server certificate when it does not fit these names. True if issued now. */
async function ensureServerCert(dir: string, names: RobotNames, log: Logger): Promise<boolean> {
  if (await ensureCa(dir, names)) log.info('made the robot certificate authority', { path: join(dir, 'ca.pem'), sha256: await caFingerprint(dir) });
  const { allowed, refused } = permittedNames(names, await readConstraints(join(dir, 'ca.pem')));
  if (refused.length) {
    // A name the CA was not made for (a new host name, a public address): browsers would refuse
    // the whole certificate if it named it. A new CA (delete tls/ca*.pem) covers it, at the cost
    // of trusting that one again on every phone.
    log.warn('names the robot CA cannot vouch for are left out of the HTTPS certificate', { refused });
  }
  const problem = await serverCertProblem(dir, allowed);
  if (!problem) return false;
  if (problem === 'not signed by the robot CA') await keepOldSelfSigned(dir, log);
  await issueServerCert(dir, allowed);
  log.info('issued the HTTPS certificate with the robot CA', { reason: problem, dns: allowed.dns, ips: allowed.ips });
  return true;
}

async function readMaterial(dir: string): Promise<TlsMaterial> {
  return { cert: await readFile(join(dir, SERVER_CERT)), key: await readFile(join(dir, SERVER_KEY)), source: 'robot-ca', caCert: await caCertDer(dir) };
}

export async function loadOrCreateTls(dataDir: string, config: Pick<Config, 'https'>, log: Logger): Promise<TlsMaterial> {
  const { cert_path, key_path } = config.https;
  if (cert_path && key_path) {
    return { cert: await readFile(cert_path), key: await readFile(key_path), source: 'config', caCert: null };
  }
  const dir = tlsDir(dataDir);
  await ensureServerCert(dir, robotNames(), log);
  return readMaterial(dir);
}

/**
 * Watches the machine's addresses (DHCP, another Wi-Fi) and re-issues the certificate when they
 * change, handing the new one to `apply` (the HTTPS server's setSecureContext): phones that trust
 * the CA keep working without a restart. Returns a stop function.
 */
export function renewOnAddressChange(
  dataDir: string, log: Logger, apply: (m: TlsMaterial) => void, everyMs = 30_000, namesNow: () => RobotNames = () => robotNames(),
): () => void {
  const dir = tlsDir(dataDir);
  let last = JSON.stringify(namesNow());
  let busy = false;
  const timer = setInterval(() => {
    const names = namesNow();
    const key = JSON.stringify(names);
    if (busy || key === last) return;
    busy = true;
    ensureServerCert(dir, names, log)
      .then(async (issued) => { last = key; if (issued) apply(await readMaterial(dir)); })
      .catch((err: unknown) => log.warn('could not re-issue the HTTPS certificate', { err }))
      .finally(() => { busy = false; });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
