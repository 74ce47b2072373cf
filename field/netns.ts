// A field network for one run: three network namespaces — robot (bridge, simulator, FFmpeg),
// server (MediaMTX, relay), phone (Chromium) — and two emulated links, robot↔server and
// phone↔server, each a havatar-wire joining a TUN in the edge namespace to a TUN in the server
// namespace. By default the server does not forward between them: the phone reaches the robot only
// through the server, as on the Internet. With `forward` it does (a VPN whose hub is the server:
// local mode from afar), and a packet between the edges crosses both wires. The test process reaches a loopback port inside a namespace
// through a portal (the wire binary's `portal` mode), which adds no route around the links.
//
// Everything is named with a run id (hvf<pid>-<hex>-<place>) and removed by close(), on
// SIGINT/SIGTERM and at exit; namespaces of a run whose process died by SIGKILL are removed by the
// next run (their pid is in the name). Needs root, /dev/net/tun and iproute2 (fieldNetMissing()).
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { jsonEvent, killGroup, launchCommand, type Proc, type StackOptions } from '../scripts/stack.ts';
import { WireControl, wireBinary, type WireProfile } from './wire.ts';

export type Place = 'robot' | 'server' | 'phone';
const PLACES: Place[] = ['robot', 'server', 'phone'];

/** The addresses on the links: each edge and the server as that edge sees it (point-to-point). */
export const FIELD_ADDRESSES = {
  robot: '10.77.1.2',
  serverForRobot: '10.77.1.1',
  phone: '10.77.2.2',
  serverForPhone: '10.77.2.1',
} as const;

/** Device names: the edge's side of its link, and the server's side of each link. */
const EDGE_DEV = 'wan0';
const SERVER_DEV: Record<'robot' | 'phone', string> = { robot: 'robot0', phone: 'phone0' };

export interface FieldNetOptions {
  /** The robot's link; aToB is the robot's uplink. */
  robotLink: WireProfile;
  /** The phone's link; aToB is the phone's uplink. */
  phoneLink: WireProfile;
  /** Output of the wires and portals. */
  log?: StackOptions['log'];
  /**
   * The server namespace routes between the two links (IPv4 forwarding on; each edge's default
   * route already points at the server), so the phone reaches the robot's addresses through both
   * wires, as through a VPN whose hub is the server. Off by default.
   */
  forward?: boolean;
}

export interface FieldNet {
  runId: string;
  /** Namespace names. */
  ns: Record<Place, string>;
  addresses: typeof FIELD_ADDRESSES;
  /** Control of each link: counters, "down now for N ms", a new profile. */
  links: { robot: WireControl; phone: WireControl };
  /** `cmd args` as a command line that runs it inside a place's namespace (ip netns exec). */
  wrap(place: Place, cmd: string, args: string[]): [string, string[]];
  /** A 127.0.0.1 port of this process that connects to 127.0.0.1:port inside a place. */
  reach(place: Place, port: number): Promise<number>;
  /** Removes everything of this run: processes in its namespaces, wires, portals, namespaces. */
  close(): Promise<void>;
}

/** Why a field network cannot be made here, or null when it can. */
export function fieldNetMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and TUN devices)';
  try { accessSync('/dev/net/tun', constants.R_OK | constants.W_OK); } catch { return 'no /dev/net/tun'; }
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }); } catch { return 'no iproute2 (ip)'; }
  return null;
}

const NAME = /^hvf(\d+)-[0-9a-f]+-(robot|server|phone)$/;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function namespaces(): string[] {
  try { return readdirSync('/run/netns'); } catch { return []; }
}

/** Kills every process inside a namespace, then deletes it (a process left inside would keep it alive). */
function removeNamespace(ns: string): void {
  let pids: string[] = [];
  try { pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\s+/).filter(Boolean); } catch { /* gone */ }
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
  try { ip(['netns', 'del', ns]); } catch { /* gone */ }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Namespaces of field runs whose process is gone (killed by SIGKILL, which no handler sees). */
export function sweepStaleNamespaces(): string[] {
  const stale = namespaces().filter((n) => { const m = NAME.exec(n); return m !== null && !alive(Number(m[1])); });
  stale.forEach(removeNamespace);
  return stale;
}

/** Every field namespace on the machine (for tests that check nothing was left). */
export function fieldNamespaces(): string[] {
  return namespaces().filter((n) => NAME.test(n));
}

// Runs still open in this process, removed synchronously on exit and on SIGINT/SIGTERM.
const open = new Set<() => void>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanAll = () => { for (const clean of [...open]) clean(); };
  process.on('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      cleanAll();
      // Nobody else handles it: end as the signal would have (the default action we replaced).
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

function configureEnd(ns: string, dev: string, local: string, peer: string, defaultRoute: boolean): void {
  // No IPv6 on the links: its router and multicast chatter would cross the wire and use up
  // random draws, making a seeded run differ from the last.
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], { stdio: 'ignore' });
  ip(['-n', ns, 'addr', 'add', `${local}/32`, 'peer', `${peer}/32`, 'dev', dev]);
  ip(['-n', ns, 'link', 'set', dev, 'up']);
  // Chromium counts a machine with no default route as offline.
  if (defaultRoute) ip(['-n', ns, 'route', 'add', 'default', 'dev', dev]);
}

export async function createFieldNet(opts: FieldNetOptions): Promise<FieldNet> {
  const missing = fieldNetMissing();
  if (missing) throw new Error(`field network: ${missing}`);
  sweepStaleNamespaces();
  const bin = wireBinary();
  const runId = `hvf${process.pid}-${randomBytes(3).toString('hex')}`;
  const ns = Object.fromEntries(PLACES.map((p) => [p, `${runId}-${p}`])) as Record<Place, string>;
  const dir = mkdtempSync(join(tmpdir(), `${runId}-`));
  const procs: Proc[] = [];
  const portals = new Map<string, Promise<number>>();
  const clean = () => {
    open.delete(clean);
    for (const p of procs) killGroup(p.child);
    PLACES.forEach((p) => removeNamespace(ns[p]));
    rmSync(dir, { recursive: true, force: true });
  };
  open.add(clean);
  hookExit();
  const spawnBin = (name: string, args: string[]) =>
    launchCommand(name, bin, args, jsonEvent('ready'), { log: opts.log, timeoutMs: 10_000 }).then((p) => { procs.push(p); return p; });

  try {
    for (const p of PLACES) {
      ip(['netns', 'add', ns[p]]);
      ip(['-n', ns[p], 'link', 'set', 'lo', 'up']);
    }
    const A = FIELD_ADDRESSES;
    for (const [edge, profile, edgeAddr, serverAddr] of [
      ['robot', opts.robotLink, A.robot, A.serverForRobot],
      ['phone', opts.phoneLink, A.phone, A.serverForPhone],
    ] as const) {
      await spawnBin(`wire-${edge}`, ['link', '--a', `${ns[edge]}:${EDGE_DEV}`, '--b', `${ns.server}:${SERVER_DEV[edge]}`,
        '--profile', JSON.stringify(profile), '--control', join(dir, `${edge}.sock`)]);
      configureEnd(ns[edge], EDGE_DEV, edgeAddr, serverAddr, true);
      configureEnd(ns.server, SERVER_DEV[edge], serverAddr, edgeAddr, false);
    }
    // Only inside this run's server namespace: the machine's own forwarding is not touched.
    if (opts.forward) execFileSync('ip', ['netns', 'exec', ns.server, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { stdio: 'ignore' });
  } catch (err) {
    clean();
    throw err;
  }

  return {
    runId,
    ns,
    addresses: FIELD_ADDRESSES,
    links: { robot: new WireControl(join(dir, 'robot.sock')), phone: new WireControl(join(dir, 'phone.sock')) },
    wrap: (place, cmd, args) => ['ip', ['netns', 'exec', ns[place], cmd, ...args]],
    reach(place, port) {
      const key = `${place}:${port}`;
      let made = portals.get(key);
      if (!made) {
        made = spawnBin(`portal-${place}-${port}`, ['portal', '--netns', ns[place], '--to', `127.0.0.1:${port}`]).then((p) => Number(p.ready.port));
        portals.set(key, made);
      }
      return made;
    },
    close: () => Promise.resolve(clean()),
  };
}
