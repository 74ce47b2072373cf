// How many bytes of the publish stream have not left the robot yet: what Node still holds for the
// socket plus what the kernel holds (sent and not acknowledged, or not sent: /proc/net/tcp's
// tx_queue). Node alone says nothing until the kernel's send buffer (megabytes, autotuned) is
// full, seconds of video late; the kernel's count rises as soon as the link falls behind.
// Linux only (the robot's OS); elsewhere the kernel part reads as 0 and only Node's is counted.

import { open } from 'node:fs/promises';

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
export async function kernelSendQueue(localPort: number | undefined, remotePort: number | undefined, files = ['/proc/net/tcp', '/proc/net/tcp6']): Promise<number> {
  if (!localPort || !remotePort || process.platform !== 'linux') return 0;
  for (const file of files) {
    try {
      const n = await txQueueInFile(file, localPort, remotePort);
      if (n !== null) return n;
    } catch {
      // No /proc (a container without it): Node's own count is all there is.
    }
  }
  return 0;
}

/** Bytes read from the proc file at a time (a line is 150). */
export const SCAN_CHUNK_BYTES = 16 * 1024;
let scratch: Buffer | null = null;

/**
 * txQueueOf over a file, read in chunks into one reused buffer: only lines holding the local port
 * become strings. /proc/net/tcp lists every socket of the network namespace (thousands on a busy
 * host: 700 kB here); read whole as a string and split into lines four times a second, it was
 * 10 MB/s of garbage, most of it in V8's large-object space, which only a full GC frees: the
 * bridge's RSS rose 10-30 MB while publishing (docs/PERFORMANCE.md, "Robot footprint").
 */
export async function txQueueInFile(file: string, localPort: number, remotePort: number, chunkBytes = SCAN_CHUNK_BYTES): Promise<number | null> {
  const mine = scratch?.length === chunkBytes ? scratch : null;
  scratch = null; // an overlapping call gets its own buffer
  const buf = mine ?? Buffer.allocUnsafe(chunkBytes);
  const needle = Buffer.from(`:${localPort.toString(16).toUpperCase().padStart(4, '0')} `, 'latin1');
  const fh = await open(file, 'r');
  try {
    let kept = 0; // bytes of a line the previous read cut off, moved to the front
    for (;;) {
      const { bytesRead } = await fh.read(buf, kept, buf.length - kept, null);
      const end = kept + bytesRead;
      // Whole lines only, except at the end of the file.
      const whole = bytesRead === 0 ? end : buf.lastIndexOf(0x0a, end - 1) + 1;
      for (let at = buf.indexOf(needle); at >= 0 && at + needle.length <= whole; at = buf.indexOf(needle, at + needle.length)) {
        const start = buf.lastIndexOf(0x0a, at) + 1;
        const nl = buf.indexOf(0x0a, at);
        const tx = txQueueOf(buf.toString('latin1', start, nl < 0 || nl > whole ? whole : nl), localPort, remotePort);
        if (tx !== null) return tx;
      }
      if (bytesRead === 0 || whole === 0) return null; // the end, or a line longer than the buffer (not a proc table)
      buf.copy(buf, 0, whole, end);
      kept = end - whole;
    }
  } finally {
    scratch = buf;
    await fh.close();
  }
}
