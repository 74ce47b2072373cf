// Before `npm start` starts anything: is each port it needs free, and if not, which process holds
// it? A bare EADDRINUSE from the fifth child, after four others started, says neither; a stack
// left behind by an earlier run is the usual holder, and its pid is what the user needs.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { commandLine } from './children.ts';

export interface PortNeed {
  /** What uses it, for the message ("simulator state"). */
  what: string;
  port: number;
  /** The address the service binds: '0.0.0.0' for every interface. */
  host: string;
  proto: 'tcp' | 'udp';
}

export interface PortHolder {
  pid: number;
  command: string;
}

export interface PortConflict extends PortNeed {
  /** Empty when the holder is not ours to see (another user's process). */
  holders: PortHolder[];
}

/** Binds like the service will and lets go at once: the kernel's own answer, addresses and all. */
function canBind(need: PortNeed): Promise<boolean> {
  return new Promise((resolve) => {
    if (need.proto === 'udp') {
      const sock = createSocket('udp4');
      sock.once('error', () => { sock.close(); resolve(false); });
      sock.bind(need.port, need.host, () => sock.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port: need.port, host: need.host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Socket inodes bound to `port`: listening TCP sockets, or unconnected UDP ones. */
function socketInodes(port: number, proto: 'tcp' | 'udp'): Set<string> {
  const inodes = new Set<string>();
  const wantedState = proto === 'tcp' ? '0A' : '07'; // TCP_LISTEN; UDP sockets sit in TCP_CLOSE
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1]!.split(':')[1] ?? '', 16);
      if (localPort === port && f[3] === wantedState && f[9] !== '0') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** The processes holding any of these socket inodes, through /proc/<pid>/fd. */
function holdersOf(inodes: Set<string>): PortHolder[] {
  const out: PortHolder[] = [];
  if (!inodes.size) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${entry}/fd`); } catch { continue; }
    const holds = fds.some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    out.push({ pid: Number(entry), command: commandLine(Number(entry)) });
  }
  return out;
}

/** The needs that cannot be met, each with who holds its port. Checked one after another. */
export async function portConflicts(needs: PortNeed[]): Promise<PortConflict[]> {
  const conflicts: PortConflict[] = [];
  for (const need of needs) {
    if (await canBind(need)) continue;
    conflicts.push({ ...need, holders: holdersOf(socketInodes(need.port, need.proto)) });
  }
  return conflicts;
}

/** What to tell the user: each port, who holds it, how to stop it. */
export function describeConflicts(conflicts: PortConflict[]): string {
  const lines: string[] = [];
  for (const c of conflicts) {
    const port = `${c.proto === 'udp' ? 'UDP ' : ''}port ${c.port} (${c.what}, ${c.host})`;
    if (!c.holders.length) {
      lines.push(`${port} is in use by a process this user cannot see; \`sudo ss -${c.proto === 'udp' ? 'u' : 't'}lnp 'sport = :${c.port}'\` names it.`);
      continue;
    }
    for (const h of c.holders) lines.push(`${port} is in use by pid ${h.pid}: ${h.command || '(command line unknown)'}`);
  }
  const pids = [...new Set(conflicts.flatMap((c) => c.holders.map((h) => h.pid)))];
  if (pids.length) lines.push(`Stop it with:  kill ${pids.join(' ')}`);
  lines.push('or run `HAVATAR_PORTS=auto npm start` to take free ports.');
  return lines.join('\n');
}
