// Network profiles for field tests and benchmarks: each link (robot↔server, phone↔server) per
// direction, with where its numbers come from. "up" is from the robot or phone toward the server.
//
// Sources (read 2026-12-06):
// [ookla22]  Ookla Speedtest Global Index, US, Q4 2022 (as summarised at
//            potsandpansbyccg.com/tag/ookla): fixed broadband median 193.7 / 22.6 Mbit/s, 14 ms
//            latency; mobile median 78.9 / 9.3 Mbit/s, 31 ms latency.
// [ooklaCS]  Ookla's consistency score (same source): the share of mobile tests reaching at least
//            5 Mbit/s down and 1 Mbit/s up; 20-35 % of a US carrier's tests fell below it.
// [3gpp]     3GPP TS 23.203, table 6.1.7 (QCI): QCI 7 (voice, live video, interactive gaming)
//            packet delay budget 100 ms, packet error loss rate 1e-3; QCI 9 (default bearer)
//            300 ms, 1e-6. A budget is a bound for 98 % of packets over the radio, not a typical value.
// [wifi22]   sarodeoverwireless.com, "Why every home needs a Wi-Fi mesh" (2022), 24 h of pings in a
//            home: 99th-percentile RTT ~90 ms with mesh access points, over 500 ms with one AP.
// [balt15]   Baltrūnas, Elmokashfi, Kvalbein, "Dissecting packet loss in mobile broadband networks
//            from the edge", IEEE INFOCOM 2015: much of the loss comes in bursts (radio state changes).
// [notes]    ../shared/notes/field-network.md: WebRTC through this wire at 40 ms / 1 % and 80 ms / 5 %.
// Where no source gives a number (jitter spread, burst lengths), the value is our choice, said so.
import type { Direction, Outage, WireProfile } from './wire.ts';

export interface LinkProfile { up: Direction; down: Direction }

export interface FieldProfile {
  name: string;
  /** What the profile stands for, in a sentence. */
  about: string;
  robot: LinkProfile;
  phone: LinkProfile;
  /** A scripted outage of one link (the bench may trigger it at its own moment instead). */
  outage?: { link: 'robot' | 'phone' } & Outage;
  /** Seed of the loss and jitter draws: the same run meets the same packet fates. */
  seed: number;
}

/** Fixed broadband at both ends: [ookla22] 14 ms median RTT → 7 ms each way; jitter 1 ms (ours). */
const wiredLink: LinkProfile = { up: { delayMs: 7, jitterMs: 1 }, down: { delayMs: 7, jitterMs: 1 } };

/**
 * Good home Wi-Fi in front of fixed broadband: [ookla22]'s 7 ms each way plus 2 ms of air; jitter
 * 3 ms and 0.1 % loss (ours: a quiet 5 GHz channel, well under [wifi22]'s 90 ms p99 with mesh).
 */
const goodWifiLink: LinkProfile = {
  up: { delayMs: 9, jitterMs: 3, lossPct: 0.1 },
  down: { delayMs: 9, jitterMs: 3, lossPct: 0.1 },
};

/**
 * Busy Wi-Fi (one access point, neighbours, other traffic): 15 ms each way with 15 ms jitter, whose
 * tail reaches [wifi22]'s single-AP p99 region (~90 ms RTT) without its worst 500 ms spikes; 1 %
 * loss in short bursts (mean 2 packets; ours) and a 20 Mbit/s share of the air with a 100 ms queue.
 */
const busyWifiDir: Direction = {
  delayMs: 15, jitterMs: 15, lossPct: 0.3,
  burst: { pGoodToBad: 0.0035, pBadToGood: 0.5, lossInBadPct: 100 },
  rateKbps: 20_000, queueBytes: 250_000,
};

/**
 * 4G: 25 ms each way (RTT 50 ms: above [ookla22]'s 31 ms median for all US mobile tests, 4G and 5G
 * together, and half of [3gpp]'s 100 ms budget); jitter 8 ms (ours); loss 0.1 % at random
 * ([3gpp] QCI 7's 1e-3) plus bursts ([balt15]) adding ~0.2 %; up 9 Mbit/s ([ookla22] median mobile
 * upload 9.3), down 30 Mbit/s, each with a 200 ms queue.
 */
const fourGUp: Direction = {
  delayMs: 25, jitterMs: 8, lossPct: 0.1,
  burst: { pGoodToBad: 0.001, pBadToGood: 0.3, lossInBadPct: 60 },
  rateKbps: 9_000,
};
const fourGDown: Direction = { ...fourGUp, rateKbps: 30_000 };

/**
 * Bad 4G (cell edge, a crowded cell): 50 ms each way with 25 ms jitter (ours: [3gpp]'s 100 ms
 * budget used up by half the round trip), 1 % random loss plus bursts averaging another ~1 %
 * ([balt15]); the robot's uplink is 1 Mbit/s, the floor of [ooklaCS]'s "consistent" mobile service
 * that 20-35 % of tests miss, with a 300 ms queue (cellular buffers are deep); the phone's downlink
 * 5 Mbit/s, the same floor's download side.
 */
const bad4GDir: Direction = {
  delayMs: 50, jitterMs: 25, lossPct: 1,
  burst: { pGoodToBad: 0.004, pBadToGood: 0.25, lossInBadPct: 70 },
};

export const PROFILES: readonly FieldProfile[] = [
  { name: 'wired', about: 'fixed broadband at both ends', robot: wiredLink, phone: wiredLink, seed: 1 },
  { name: 'good-wifi', about: 'phone and robot on good home Wi-Fi behind fixed broadband', robot: goodWifiLink, phone: goodWifiLink, seed: 2 },
  { name: 'busy-wifi', about: 'phone and robot on a busy single-AP Wi-Fi', robot: { up: busyWifiDir, down: busyWifiDir }, phone: { up: busyWifiDir, down: busyWifiDir }, seed: 3 },
  { name: '4g', about: 'phone and robot on ordinary 4G', robot: { up: fourGUp, down: fourGDown }, phone: { up: fourGUp, down: fourGDown }, seed: 4 },
  {
    name: 'bad-4g', about: 'cell-edge 4G: lossy, jittery, the robot\'s uplink 1 Mbit/s',
    robot: { up: { ...bad4GDir, rateKbps: 1_000, queueBytes: 37_500 }, down: { ...bad4GDir, rateKbps: 5_000 } },
    phone: { up: { ...bad4GDir, rateKbps: 1_000 }, down: { ...bad4GDir, rateKbps: 5_000 } },
    seed: 5,
  },
  {
    name: 'outage-2s', about: '4G, and the phone loses its link for 2 s (a tunnel, a lift)',
    robot: { up: fourGUp, down: fourGDown }, phone: { up: fourGUp, down: fourGDown },
    outage: { link: 'phone', atMs: 10_000, forMs: 2_000 }, seed: 6,
  },
  {
    name: 'outage-10s', about: '4G, and the phone loses its link for 10 s',
    robot: { up: fourGUp, down: fourGDown }, phone: { up: fourGUp, down: fourGDown },
    outage: { link: 'phone', atMs: 10_000, forMs: 10_000 }, seed: 7,
  },
];

export function profileByName(name: string): FieldProfile {
  const p = PROFILES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown network profile "${name}" (known: ${PROFILES.map((x) => x.name).join(', ')})`);
  return p;
}

/**
 * The two wires' profiles (a = the edge, so aToB is its uplink). `withOutage: false` leaves the
 * scripted outage out, for a caller that takes the link down itself (WireControl.down).
 */
export function wireProfiles(p: FieldProfile, opts: { withOutage?: boolean } = {}): { robotLink: WireProfile; phoneLink: WireProfile } {
  const link = (which: 'robot' | 'phone', l: LinkProfile, stream: number): WireProfile => ({
    aToB: l.up,
    bToA: l.down,
    outages: opts.withOutage !== false && p.outage?.link === which ? [{ atMs: p.outage.atMs, forMs: p.outage.forMs }] : [],
    seed: p.seed * 16 + stream,
  });
  return { robotLink: link('robot', p.robot, 1), phoneLink: link('phone', p.phone, 2) };
}
