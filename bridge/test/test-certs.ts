// Certificates for TLS tests, made with openssl in a temp dir: a CA, a server certificate it signs
// for 127.0.0.1 (and localhost) or the given addresses, and an unrelated CA whose trust must not be enough.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates { ca: string; otherCa: string; cert: string; key: string }

export function makeCertificates(dir: string, ips: string[] = ['127.0.0.1']): TestCertificates {
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=havatar test CA']);
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=another CA']);
  sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${ips[0]}`]);
  writeFileSync(join(dir, 'ext'), `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')},DNS:localhost\n`);
  sh(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext']);
  return { ca: join(dir, 'ca.pem'), otherCa: join(dir, 'other.pem'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}
