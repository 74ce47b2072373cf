// How many bytes of the publish stream have not left the robot yet: what Node still holds for the
// socket plus what the kernel holds (sent and not acknowledged, or not sent: /proc/net/tcp's
// tx_queue). Node alone says nothing until the kernel's send buffer (megabytes, autotuned) is
// full, seconds of video late; the kernel's count rises as soon as the link falls behind.
// Linux only (the robot's OS); elsewhere the kernel part reads as 0 and only Node's is counted.

import { readFile } from 'node:fs/promises';

/** tx_queue of the established TCP socket between these ports, from /proc/net/tcp[6] text; null when absent. */
export function txQueueOf(procNetTcp: string, localPort: number, remotePort: number): number | null {
  const local = `:${localPort.toString(16).toUpperCase().padStart(4, '0')}`;
  const remote = `:${remotePort.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of procNetTcp.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx …; st 01 = ESTABLISHED
    if (f.length < 5 || !f[1]!.endsWith(local) || !f[2]!.endsWith(remote) || f[3] !== '01') continue;
    const tx = Number.parseInt(f[4]!.split(':')[0]!, 16);
    return Number.isFinite(tx) ? tx : null;
  }
  return null;
}

/** The kernel's send queue for the socket, in bytes (0 when it cannot be read). */
export async function kernelSendQueue(localPort: number | undefined, remotePort: number | undefined): Promise<number> {
  if (!localPort || !remotePort || process.platform !== 'linux') return 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      const n = txQueueOf(await readFile(file, 'latin1'), localPort, remotePort);
      if (n !== null) return n;
    } catch {
      // No /proc (a container without it): Node's own count is all there is.
    }
  }
  return 0;
}
