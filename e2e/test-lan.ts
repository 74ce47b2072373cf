// A LAN of two hosts for end-to-end tests: two network namespaces of this test's own, "phone" and
// "server", joined by a veth pair (10.88.0.1 and 10.88.0.2/24), each with its loopback up. Their
// names carry a run id, so parallel or crashed runs never collide, and `remove()` deletes both
// (which takes the veth pair with them). Targets are only these addresses, never this machine's
// own LAN address (../shared/notes/field-network.md).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestLanHost {
  /** The namespace's name, for `ip netns exec`. */
  ns: string;
  /** Its address on the test LAN. */
  address: string;
}

export interface TestLan {
  phone: TestLanHost;
  server: TestLanHost;
  remove(): void;
}

/** Why a test LAN cannot be made here (not root, no `ip netns`), or null. */
export function testLanUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` is not available';
  }
  return null;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function createTestLan(): TestLan {
  const id = randomBytes(3).toString('hex');
  const phone = { ns: `hv-phone-${id}`, address: '10.88.0.1', link: `hvp${id}` };
  const server = { ns: `hv-server-${id}`, address: '10.88.0.2', link: `hvs${id}` };
  const remove = () => {
    for (const h of [phone, server]) try { ip('netns', 'del', h.ns); } catch { /* not made, or gone */ }
  };
  try {
    for (const h of [phone, server]) ip('netns', 'add', h.ns);
    ip('link', 'add', phone.link, 'type', 'veth', 'peer', 'name', server.link);
    for (const h of [phone, server]) {
      ip('link', 'set', h.link, 'netns', h.ns);
      ip('-n', h.ns, 'addr', 'add', `${h.address}/24`, 'dev', h.link);
      ip('-n', h.ns, 'link', 'set', h.link, 'up');
      ip('-n', h.ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    remove();
    // A veth pair left in this namespace when moving it failed.
    try { ip('link', 'del', phone.link); } catch { /* none */ }
    throw err;
  }
  return { phone: { ns: phone.ns, address: phone.address }, server: { ns: server.ns, address: server.address }, remove };
}

/** GET `url` from inside namespace `ns` (its loopback is its own): the body, or a rejection. */
export function getIn(ns: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, 'curl', '-sf', '--max-time', '2', url], (err, out) => (err ? reject(err) : resolve(out)));
  });
}
