// The HTTPS certificate: the user's own (config https.cert_path/key_path), or a self-signed one
// generated once with the openssl CLI into the data dir. Phones need HTTPS for the microphone and
// app install; the operator accepts this certificate once (docs/API_REFERENCE.md says how).

import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../common/log.ts';
import type { Config } from '../config/schema.ts';

export interface TlsMaterial { cert: Buffer; key: Buffer; source: 'config' | 'generated' }

const exists = (p: string) => stat(p).then(() => true, () => false);

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, _out, stderr) => (err ? reject(new Error(`${cmd} failed: ${stderr || err.message}`)) : resolve()));
  });
}

/** Addresses the certificate should name: loopback, localhost, and this machine's LAN addresses. */
function subjectAltNames(): string {
  const ips = new Set(['127.0.0.1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') ips.add(a.address);
  return ['DNS:localhost', 'DNS:havatar.local', ...[...ips].map((ip) => `IP:${ip}`)].join(',');
}

export async function loadOrCreateTls(dataDir: string, config: Config, log: Logger): Promise<TlsMaterial> {
  const { cert_path, key_path } = config.https;
  if (cert_path && key_path) {
    return { cert: await readFile(cert_path), key: await readFile(key_path), source: 'config' };
  }
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (!(await exists(certPath)) || !(await exists(keyPath))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '825', '-subj', '/CN=havatar robot',
      '-addext', `subjectAltName=${subjectAltNames()}`,
    ]);
    await chmod(keyPath, 0o600);
    log.info('generated a self-signed HTTPS certificate', { certPath });
  }
  return { cert: await readFile(certPath), key: await readFile(keyPath), source: 'generated' };
}
