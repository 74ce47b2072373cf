// Robot → MediaMTX, without a browser: the product stack publishing (bench/lib/stack.ts) read back
// at MediaMTX's RTSP egress by bench/lib/rtsp-probe.ts, video (capture-time strip) and audio (mic
// marker) at once, so a change to the publisher can be judged in ~20 s:
//   node --import tsx bench/egress-probe.ts [--seconds 10]
import { markerLatencies, probeAudio, probeVideo } from './lib/rtsp-probe.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, dist, emitResult, machine, onInterrupt, sleep } from './lib/util.ts';

const SECONDS = Math.min(600, Math.max(3, Number(arg('seconds', '10'))));
let bs: BenchStack | null = null;
onInterrupt(async () => { await bs?.stop().catch(() => {}); });
try {
  const m = machine();
  bs = await startBenchStack();
  await bs.waitLive();
  await sleep(1000);
  const viewer = await bs.session('viewer');
  const url = `${bs.rtspBase.replace('rtsp://', `rtsp://viewer:${encodeURIComponent(viewer.token)}@`)}/robots/sim`;
  const v = probeVideo(url, 1280);
  const a = probeAudio(url);
  await sleep(SECONDS * 1000 + 1200);
  const video = dist(v.stop());
  const audio = markerLatencies(a.stop());
  console.error(`robot → MediaMTX egress: video ${JSON.stringify(video)}; audio ${JSON.stringify(dist(audio.ms))} (+${audio.dropped} unassigned)`);
  emitResult({ bench: 'egress-probe', seconds: SECONDS, machine: m, video, audio: dist(audio.ms), audioUnassigned: audio.dropped });
} finally {
  await bs?.stop().catch(() => {});
}
