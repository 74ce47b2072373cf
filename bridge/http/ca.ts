// The robot's own certificate authority, made once in <data dir>/tls/ with the openssl CLI, and the
// HTTPS certificate it signs for every name and address the robot answers on. Why a CA and not a
// self-signed certificate: browsers never run a service worker (no install, no offline start) from
// an origin whose certificate they do not trust, and a phone can only be told to trust a CA. The
// phone trusts it once; the server certificate can then be re-issued when an address changes
// without asking again. Name constraints keep the CA from vouching for anything but this robot's
// names and private addresses, so a leaked CA key cannot impersonate a bank to that phone.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

export const CA_CERT = 'ca.pem';
export const CA_KEY = 'ca-key.pem';
export const SERVER_CERT = 'cert.pem';
export const SERVER_KEY = 'key.pem';

/** Private and loopback IPv4 ranges the CA may vouch for (a robot's DHCP address moves within them). */
const PRIVATE_V4: [string, string][] = [
  ['127.0.0.0', '255.0.0.0'], ['10.0.0.0', '255.0.0.0'], ['172.16.0.0', '255.240.0.0'], ['192.168.0.0', '255.255.0.0'],
  ['169.254.0.0', '255.255.0.0'], ['100.64.0.0', '255.192.0.0'],
];
/** Server certificates within Apple's limit for user-trusted roots; renewed this long before expiry. */
const SERVER_DAYS = 825;
const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface RobotNames { dns: string[]; ips: string[] }
export interface Constraints { dns: string[]; ips: [string, string][] }

export const exists = (p: string) => stat(p).then(() => true, () => false);

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 20_000 }, (err, out, stderr) => (err ? reject(new Error(`openssl failed: ${stderr || err.message}`)) : resolve(out)));
  });
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Every name and IPv4 address this machine answers on: localhost, its host name (bare and .local), each address. */
export function robotNames(host = hostname(), interfaces = networkInterfaces()): RobotNames {
  const dns = new Set(['localhost', 'havatar.local']);
  const h = host.toLowerCase().replace(/\.local$/, '');
  if (DNS_NAME.test(h) && h !== 'localhost') for (const n of [h, `${h}.local`]) dns.add(n);
  const ips = new Set(['127.0.0.1']);
  for (const list of Object.values(interfaces)) for (const a of list ?? []) if (a.family === 'IPv4') ips.add(a.address);
  return { dns: [...dns], ips: [...ips] };
}

const v4 = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const inRange = (ip: string, [net, mask]: [string, string]) => ((v4(ip) & v4(mask)) >>> 0) === ((v4(net) & v4(mask)) >>> 0);
const dnsPermitted = (name: string, base: string) => name === base || name.endsWith(`.${base}`);

/** The names a CA with these constraints may sign (a certificate naming any other is refused whole by browsers). */
export function permittedNames(names: RobotNames, c: Constraints | null): { allowed: RobotNames; refused: string[] } {
  if (!c) return { allowed: names, refused: [] };
  const dns = names.dns.filter((n) => c.dns.some((b) => dnsPermitted(n, b)));
  const ips = names.ips.filter((ip) => c.ips.some((r) => inRange(ip, r)));
  return { allowed: { dns, ips }, refused: [...names.dns.filter((n) => !dns.includes(n)), ...names.ips.filter((n) => !ips.includes(n))] };
}

/** The CA's permitted subtrees, read back from its certificate (null: none, it may sign anything). */
export async function readConstraints(caPath: string): Promise<Constraints | null> {
  const text = await run(['x509', '-in', caPath, '-noout', '-ext', 'nameConstraints']);
  if (!/Permitted/i.test(text)) return null;
  const dns = [...text.matchAll(/DNS:([^\s,]+)/g)].map((m) => m[1]!.toLowerCase());
  const ips = [...text.matchAll(/IP:([\d.]+)\/([\d.]+)/g)].map((m): [string, string] => [m[1]!, m[2]!]);
  return { dns, ips };
}

/** An openssl config with one extensions section, written to a temp dir removed afterwards. */
async function withConfig<T>(dir: string, extensions: string[], fn: (cnf: string) => Promise<T>): Promise<T> {
  const tmp = await mkdtemp(join(dir, '.openssl-'));
  const cnf = join(tmp, 'openssl.cnf');
  await writeFile(cnf, ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', '[ext]', ...extensions, ''].join('\n'));
  try {
    return await fn(cnf);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes the CA (certificate and owner-only key) unless it exists. Returns true when it was made now. */
export async function ensureCa(dir: string, names: RobotNames): Promise<boolean> {
  const certPath = join(dir, CA_CERT);
  const keyPath = join(dir, CA_KEY);
  if ((await exists(certPath)) && (await exists(keyPath))) return false;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const host = names.dns.find((n) => !['localhost', 'havatar.local'].includes(n) && !n.endsWith('.local')) ?? 'robot';
  const permitted = [...names.dns.map((n) => `permitted;DNS:${n}`), ...PRIVATE_V4.map(([net, mask]) => `permitted;IP:${net}/${mask}`)];
  const id = Math.random().toString(16).slice(2, 8);
  await withConfig(dir, [
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    `nameConstraints = critical, ${permitted.join(', ')}`,
  ], (cnf) => run([
    'req', '-x509', ...EC_KEY, '-keyout', `${keyPath}.new`, '-out', `${certPath}.new`, '-days', '3650', '-sha256',
    '-subj', `/O=Havatar/CN=Havatar robot ${host} CA ${id}`, '-config', cnf, '-extensions', 'ext',
  ]));
  await chmod(`${keyPath}.new`, 0o600);
  await rename(`${keyPath}.new`, keyPath);
  await rename(`${certPath}.new`, certPath);
  return true;
}

const sanList = (cert: X509Certificate) =>
  (cert.subjectAltName ?? '').split(', ').map((s) => s.replace(/^IP Address:/, 'IP:')).filter(Boolean);

/** Why the server certificate in dir must be (re-)issued for these names, or null if it is fine. */
export async function serverCertProblem(dir: string, names: RobotNames, now = Date.now()): Promise<string | null> {
  const certPath = join(dir, SERVER_CERT);
  if (!(await exists(certPath)) || !(await exists(join(dir, SERVER_KEY)))) return 'none yet';
  const ca = new X509Certificate(await readFile(join(dir, CA_CERT)));
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(await readFile(certPath));
  } catch {
    return 'unreadable';
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the robot CA';
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return 'expiring';
  const have = new Set(sanList(cert));
  const missing = [...names.dns.map((n) => `DNS:${n}`), ...names.ips.map((ip) => `IP:${ip}`)].filter((n) => !have.has(n));
  return missing.length ? `new names ${missing.join(' ')}` : null;
}

/** Signs a new server certificate and key with the CA, replacing cert.pem and key.pem atomically. */
export async function issueServerCert(dir: string, names: RobotNames): Promise<void> {
  const certPath = join(dir, SERVER_CERT);
  const keyPath = join(dir, SERVER_KEY);
  const san = [...names.dns.map((n) => `DNS:${n}`), ...names.ips.map((ip) => `IP:${ip}`)].join(', ');
  await withConfig(dir, [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    `subjectAltName = ${san}`,
  ], (cnf) => run([
    'req', '-x509', '-CA', join(dir, CA_CERT), '-CAkey', join(dir, CA_KEY), ...EC_KEY, '-keyout', `${keyPath}.new`, '-out', `${certPath}.new`,
    '-days', String(SERVER_DAYS), '-sha256', '-subj', `/O=Havatar/CN=${names.dns.find((n) => n.endsWith('.local')) ?? 'localhost'}`,
    '-config', cnf, '-extensions', 'ext',
  ]));
  await chmod(`${keyPath}.new`, 0o600);
  await rename(`${keyPath}.new`, keyPath);
  await rename(`${certPath}.new`, certPath);
}

/** The CA certificate in DER, the form phones take as a download (application/x-x509-ca-cert). */
export async function caCertDer(dir: string): Promise<Buffer> {
  return Buffer.from(new X509Certificate(await readFile(join(dir, CA_CERT))).raw);
}

/** SHA-256 fingerprint of the CA certificate, to compare with what the phone shows before trusting it. */
export async function caFingerprint(dir: string): Promise<string> {
  return new X509Certificate(await readFile(join(dir, CA_CERT))).fingerprint256;
}
