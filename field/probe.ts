// Traffic probes for measuring a link, run inside a namespace (FieldNet.wrap):
//   udp-sink --port P [--idle-ms 1500]     records every datagram's sequence number and one-way delay
//   udp-send --to HOST:PORT --count N --interval-ms I [--size B]
//   tcp-listen --port P                    accepts and closes
//   tcp-connect --to HOST:PORT --count N   times N connects (one round trip each)
// Each prints {"event":"ready"} when listening and one JSON result line when done. One-way delay
// is exact because both ends read the same monotonic clock (CLOCK_MONOTONIC is per machine, not
// per network namespace).
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '0' },
    to: { type: 'string', default: '' },
    count: { type: 'string', default: '100' },
    'interval-ms': { type: 'string', default: '10' },
    size: { type: 'string', default: '200' },
    'idle-ms': { type: 'string', default: '1500' },
  },
});
const mode = positionals[0];
const nowNs = () => process.hrtime.bigint();
const print = (v: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(v)}\n`);
const target = () => {
  const i = values.to.lastIndexOf(':');
  if (i <= 0) throw new Error('--to HOST:PORT');
  return { host: values.to.slice(0, i), port: Number(values.to.slice(i + 1)) };
};

/** Arrivals as [sequence, one-way delay ms, arrival ms since the first arrival]. */
function udpSink(): void {
  const sock = createSocket('udp4');
  const arrivals: [number, number, number][] = [];
  let first = 0n;
  let idle: NodeJS.Timeout | undefined;
  const finish = () => { print({ event: 'result', arrivals }); sock.close(); };
  sock.on('message', (msg) => {
    const at = nowNs();
    if (!first) first = at;
    arrivals.push([msg.readUInt32BE(0), Number(at - msg.readBigUInt64BE(4)) / 1e6, Number(at - first) / 1e6]);
    clearTimeout(idle);
    idle = setTimeout(finish, Number(values['idle-ms']));
  });
  sock.bind(Number(values.port), '0.0.0.0', () => print({ event: 'ready', port: sock.address().port }));
}

/** Sends `count` datagrams at a steady pace, catching up after a late timer rather than drifting. */
function udpSend(): void {
  const { host, port } = target();
  const count = Number(values.count);
  const interval = Number(values['interval-ms']);
  const size = Math.max(12, Number(values.size));
  const sock = createSocket('udp4');
  const start = nowNs();
  let sent = 0;
  const tick = () => {
    const due = Math.min(count, Math.floor(Number(nowNs() - start) / 1e6 / interval) + 1);
    for (; sent < due; sent++) {
      const buf = Buffer.alloc(size);
      buf.writeUInt32BE(sent, 0);
      buf.writeBigUInt64BE(nowNs(), 4);
      sock.send(buf, port, host);
    }
    if (sent < count) setTimeout(tick, Math.max(1, Math.min(interval, 5)));
    else setTimeout(() => { print({ event: 'result', sent }); sock.close(); }, 50);
  };
  print({ event: 'ready' });
  tick();
}

function tcpListen(): void {
  const srv = createServer((c) => c.destroy());
  srv.listen(Number(values.port), '0.0.0.0', () => print({ event: 'ready', port: (srv.address() as { port: number }).port }));
}

async function tcpConnect(): Promise<void> {
  const { host, port } = target();
  const connectMs: number[] = [];
  print({ event: 'ready' });
  for (let i = 0; i < Number(values.count); i++) {
    const t = nowNs();
    await new Promise<void>((resolve, reject) => {
      const c = connect(port, host, () => { connectMs.push(Number(nowNs() - t) / 1e6); c.destroy(); resolve(); });
      c.once('error', reject);
    });
  }
  print({ event: 'result', connectMs });
}

switch (mode) {
  case 'udp-sink': udpSink(); break;
  case 'udp-send': udpSend(); break;
  case 'tcp-listen': tcpListen(); break;
  case 'tcp-connect': await tcpConnect(); break;
  default: console.error('usage: probe.ts udp-sink|udp-send|tcp-listen|tcp-connect …'); process.exit(2);
}
