// Runs as the robot audio receiver's RTCRtpScriptTransform: takes each encoded Opus frame as it
// arrives, decodes it at once with WebCodecs and posts the PCM with its RTP timestamp straight to
// the playout worklet (low-latency-audio.ts wires the port), so no frame waits for the main thread.
// Nothing is written back to the receiver: NetEq gets no audio, so the <video> element plays
// silence and the robot is heard once, through the worklet.

interface EncodedAudioFrame { data: ArrayBuffer; timestamp: number; getMetadata(): { rtpTimestamp?: number } }
interface Transformer { readable: ReadableStream<EncodedAudioFrame>; options: { frames: MessagePort; channels?: number } }
interface TransformEvent { transformer: Transformer }

const scope = self as unknown as { onrtctransform: ((e: TransformEvent) => void) | null; postMessage(m: unknown): void };

scope.onrtctransform = (e) => void pump(e.transformer).catch((err: unknown) => scope.postMessage({ error: String(err) }));

async function pump(t: Transformer): Promise<void> {
  const port = t.options.frames;
  // RTP timestamps of the frames in the decoder, oldest first: one Opus packet decodes to one
  // output, in order. (The output's own timestamp is not the input's: Chromium counts it on by
  // the samples decoded.)
  const pending: number[] = [];
  const decoder = new AudioDecoder({
    output: (d) => {
      const pcm = new Float32Array(d.numberOfFrames);
      d.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
      const ts = pending.shift();
      if (ts !== undefined) port.postMessage({ ts, pcm }, [pcm.buffer]);
      d.close();
    },
    // To the page (the Worker object), which shows it in the stats.
    error: (err) => scope.postMessage({ error: String(err) }),
  });
  decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
  const reader = t.readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done || decoder.state === 'closed') return;
    const ts = value.getMetadata().rtpTimestamp ?? value.timestamp;
    pending.push(ts);
    decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: (ts * 1e6) / 48000, data: value.data }));
  }
}
