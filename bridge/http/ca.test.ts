// The robot CA and its HTTPS certificate, with the real openssl CLI in a temp data dir: the CA is
// made once, owner-only, name-constrained to the robot's names and private addresses; the server
// certificate verifies against it, names every name and address, and is re-issued when they change;
// an older self-signed certificate is kept beside, and a user's own certificate is never touched.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, setLogSink } from '../../common/log.ts';
import { DEFAULT_CONFIG, type Config } from '../config/schema.ts';
import { ensureCa, issueServerCert, permittedNames, readConstraints, robotNames, serverCertProblem } from './ca.ts';
import { loadOrCreateTls, renewOnAddressChange, type TlsMaterial } from './tls.ts';
import { waitFor } from '../../common/wait.ts';

const base = mkdtempSync(join(tmpdir(), 'havatar-ca-'));
after(() => rmSync(base, { recursive: true, force: true }));
const logged: string[] = [];
setLogSink((line) => logged.push(line));
const log = createLogger('test');
const config = (patch: Partial<Config['https']> = {}): Config => ({ ...DEFAULT_CONFIG, https: { ...DEFAULT_CONFIG.https, ...patch } });
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
const mode = (p: string) => statSync(p).mode & 0o777;
/** A plain self-signed pair, as the bridge made before the robot CA or as a user brings their own. */
function selfSigned(dir: string, cn: string): { cert: Buffer; key: Buffer } {
  mkdirSync(dir, { recursive: true });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'),
    '-out', join(dir, 'cert.pem'), '-days', '30', '-subj', `/CN=${cn}`);
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
}

test('robotNames: localhost, the host name bare and .local, loopback and every IPv4 address', () => {
  const n = robotNames('Robby', { eth0: [{ family: 'IPv4', address: '192.168.1.23' } as never], lo: [{ family: 'IPv6', address: '::1' } as never] });
  assert.deepEqual(n, { dns: ['localhost', 'havatar.local', 'robby', 'robby.local'], ips: ['127.0.0.1', '192.168.1.23'] });
  assert.deepEqual(robotNames('bad_name!', {}).dns, ['localhost', 'havatar.local'], 'a host name that is no DNS name is left out');
});

test('permittedNames keeps what the constraints allow and lists the rest', () => {
  const c = { dns: ['localhost', 'robby.local'], ips: [['192.168.0.0', '255.255.0.0'] as [string, string]] };
  const r = permittedNames({ dns: ['localhost', 'robby.local', 'other.local'], ips: ['192.168.7.8', '8.8.8.8'] }, c);
  assert.deepEqual(r.allowed, { dns: ['localhost', 'robby.local'], ips: ['192.168.7.8'] });
  assert.deepEqual(r.refused, ['other.local', '8.8.8.8']);
});

test('first start: an owner-only CA limited to the robot, and a server certificate it signed for every name', async () => {
  const dataDir = join(base, 'fresh');
  const tls = await loadOrCreateTls(dataDir, config(), log);
  const dir = join(dataDir, 'tls');
  assert.equal(tls.source, 'robot-ca');
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, 'ca-key.pem')), 0o600);
  assert.equal(mode(join(dir, 'key.pem')), 0o600);
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
  assert.ok(ca.ca);
  assert.deepEqual(Buffer.from(ca.raw), tls.caCert, 'the DER served at /ca.crt is the CA');
  const constraints = await readConstraints(join(dir, 'ca.pem'));
  assert.ok(constraints?.dns.includes('localhost'));
  assert.ok(constraints?.ips.some(([net]) => net === '192.168.0.0'));
  assert.match(openssl('verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cert.pem')), /: OK/);
  const cert = new X509Certificate(tls.cert);
  assert.ok(cert.checkHost('localhost') && cert.checkIP('127.0.0.1'));
  assert.match(openssl('x509', '-in', join(dir, 'cert.pem'), '-noout', '-ext', 'extendedKeyUsage'), /Server Authentication/);
  const again = await loadOrCreateTls(dataDir, config(), log);
  assert.ok(again.cert.equals(tls.cert) && again.caCert?.equals(tls.caCert!), 'a second start reuses both');
});

test('a new address gets a new certificate from the same CA; an address outside the CA is left out', async () => {
  const dir = join(base, 'moved', 'tls');
  const names = { dns: ['localhost', 'robby.local'], ips: ['127.0.0.1', '192.168.1.23'] };
  await ensureCa(dir, names);
  await issueServerCert(dir, names);
  assert.equal(await serverCertProblem(dir, names), null);
  const moved = { ...names, ips: ['127.0.0.1', '10.1.2.3'] };
  assert.match(await serverCertProblem(dir, moved) ?? '', /IP:10\.1\.2\.3/);
  assert.deepEqual(permittedNames({ ...moved, ips: [...moved.ips, '203.0.113.9'] }, await readConstraints(join(dir, 'ca.pem'))).refused, ['203.0.113.9']);
  const caBefore = readFileSync(join(dir, 'ca.pem'));
  await issueServerCert(dir, moved);
  assert.ok(new X509Certificate(readFileSync(join(dir, 'cert.pem'))).checkIP('10.1.2.3'));
  assert.ok(readFileSync(join(dir, 'ca.pem')).equals(caBefore), 'the CA the phones trust stays');
  assert.match(await serverCertProblem(dir, moved, Date.now() + 820 * 86_400_000) ?? '', /expiring/);
});

test('the CA cannot vouch for a name outside its constraints (a certificate it signed for one fails verification)', async () => {
  const dir = join(base, 'outside', 'tls');
  await ensureCa(dir, { dns: ['localhost', 'robby.local'], ips: ['127.0.0.1'] });
  await issueServerCert(dir, { dns: ['bank.example'], ips: ['8.8.8.8'] });
  assert.throws(() => execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cert.pem')], { stdio: 'pipe' }),
    (e: Error) => /permitted subtree violation/.test(e.message));
});

test('while running, a new address is noticed and the new certificate handed to the HTTPS server', async () => {
  const dataDir = join(base, 'running');
  let names = { dns: ['localhost'], ips: ['127.0.0.1', '192.168.1.23'] };
  const dir = join(dataDir, 'tls');
  await ensureCa(dir, names);
  await issueServerCert(dir, names);
  const applied: TlsMaterial[] = [];
  const stop = renewOnAddressChange(dataDir, log, (m) => applied.push(m), 20, () => names);
  try {
    names = { ...names, ips: ['127.0.0.1', '10.1.2.3'] };
    await waitFor('the re-issued certificate', () => applied.length, (n) => n === 1, 5000);
    assert.ok(new X509Certificate(applied[0]!.cert).checkIP('10.1.2.3'));
  } finally {
    stop();
  }
});

test('an older self-signed certificate is kept beside, and the rest of the data dir is untouched', async () => {
  const dataDir = join(base, 'upgrade');
  const dir = join(dataDir, 'tls');
  const { cert: oldCert, key: oldKey } = selfSigned(dir, 'havatar robot');
  writeFileSync(join(dataDir, 'config.json'), '{"saved":true}');
  const tls = await loadOrCreateTls(dataDir, config(), log);
  assert.ok(!tls.cert.equals(oldCert));
  assert.ok(readFileSync(join(dir, 'self-signed-cert.pem')).equals(oldCert));
  assert.ok(readFileSync(join(dir, 'self-signed-key.pem')).equals(oldKey));
  assert.equal(readFileSync(join(dataDir, 'config.json'), 'utf8'), '{"saved":true}');
});

test("the user's own certificate (https.cert_path) is used as it is, and no CA is made", async () => {
  const dataDir = join(base, 'own');
  const own = join(base, 'own-cert');
  const before = selfSigned(own, 'mine').cert;
  const tls = await loadOrCreateTls(dataDir, config({ cert_path: join(own, 'cert.pem'), key_path: join(own, 'key.pem') }), log);
  assert.equal(tls.source, 'config');
  assert.equal(tls.caCert, null);
  assert.ok(tls.cert.equals(before) && readFileSync(join(own, 'cert.pem')).equals(before));
  assert.throws(() => statSync(join(dataDir, 'tls')), 'no tls dir made');
});
