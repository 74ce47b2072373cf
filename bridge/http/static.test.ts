// The static app server must never hand out a file outside dist/: dot-dot paths in every encoding,
// absolute paths, NUL bytes, backslashes and symlinks that point out — over real HTTP, with raw
// request lines (fetch would normalise the paths before they reach the server).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticFiles } from './static.ts';

const SECRET = 'operator-token-hash-do-not-serve';
let base: string;
let server: Server;
let port: number;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'havatar-static-'));
  const root = join(base, 'dist');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(base, 'secret.txt'), SECRET);
  symlinkSync(join(base, 'secret.txt'), join(root, 'leak.txt'));
  symlinkSync(base, join(root, 'up'));
  const files = new StaticFiles(root);
  server = createServer((req, res) => {
    void files.serve(req, res, new URL(req.url ?? '/', 'http://x').pathname).then((served) => {
      if (!served) { res.writeHead(404); res.end(); }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

after(() => {
  server.close();
  rmSync(base, { recursive: true, force: true });
});

/** Sends a request line exactly as written and returns the whole raw answer. */
function raw(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let out = '';
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('the app shell and its assets are served', async () => {
  assert.match(await raw('/'), /^HTTP\/1\.1 200[\s\S]*<title>app<\/title>/);
  assert.match(await raw('/assets/app.js'), /^HTTP\/1\.1 200[\s\S]*console\.log/);
});

test('no path leads outside dist/', async () => {
  const attempts = [
    '/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/..%2fsecret.txt',
    '/%252e%252e/secret.txt', '/..%5csecret.txt', '/assets/..\\..\\secret.txt', `/${'../'.repeat(12)}etc/passwd`,
    '/%00../secret.txt', '/leak.txt', '/up/secret.txt', '//secret.txt', `/${base}/secret.txt`, '/%c0%ae%c0%ae/secret.txt',
  ];
  for (const path of attempts) {
    const answer = await raw(path);
    assert.ok(!answer.includes(SECRET), `${path} leaked the file outside dist/`);
    assert.ok(!answer.includes('root:'), `${path} leaked /etc/passwd`);
    assert.match(answer, /^HTTP\/1\.1 (400|404|200)/, `${path} got a clear answer`);
  }
});
