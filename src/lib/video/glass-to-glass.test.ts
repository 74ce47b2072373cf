import { expect } from '@open-wc/testing';
import { encodeStrip, STRIP_BLOCKS_PER_ROW, STRIP_LUMA_ONE, STRIP_LUMA_ZERO, stripBlockSize } from '../../../protocol/timestamp-strip.ts';
import { waitFor } from '../../../common/wait.ts';
import { GlassToGlassMeter } from './glass-to-glass.ts';

/** A 640x360 frame as an <img>, with a capture-time strip painted on it (or none). */
async function frame(captureMs: number | null): Promise<HTMLImageElement> {
  const c = Object.assign(document.createElement('canvas'), { width: 640, height: 360 });
  const g = c.getContext('2d')!;
  g.fillStyle = '#556'; // a "real camera": no strip
  g.fillRect(0, 0, 640, 360);
  if (captureMs !== null) {
    const block = stripBlockSize(640);
    encodeStrip(captureMs, 1).forEach((bit, i) => {
      const v = bit ? STRIP_LUMA_ONE : STRIP_LUMA_ZERO;
      g.fillStyle = `rgb(${v},${v},${v})`;
      g.fillRect((i % STRIP_BLOCKS_PER_ROW) * block, Math.floor(i / STRIP_BLOCKS_PER_ROW) * block, block, block);
    });
  }
  const img = new Image();
  img.src = c.toDataURL('image/png');
  await img.decode();
  return img;
}

describe('glass-to-glass meter', () => {
  it('measures latency from the capture-time strip in the picture on screen', async () => {
    const img = await frame(Date.now() - 150);
    const meter = new GlassToGlassMeter(() => img, (t) => t);
    meter.start();
    try {
      await waitFor('a reading', () => meter.latencyMs !== null, undefined, 1500);
      expect(meter.latencyMs).to.be.within(150, 400);
    } finally {
      meter.stop();
    }
  });

  it('applies the robot-to-app clock offset', async () => {
    const img = await frame(Date.now() + 10_000 - 100); // robot clock 10 s ahead
    const meter = new GlassToGlassMeter(() => img, (t) => t - 10_000);
    meter.start();
    try {
      await waitFor('a reading', () => meter.latencyMs !== null, undefined, 1500);
      expect(meter.latencyMs).to.be.within(100, 350);
    } finally {
      meter.stop();
    }
  });

  it('shows nothing for a camera without a strip (never a guessed value)', async () => {
    const img = await frame(null);
    let reads = 0;
    const meter = new GlassToGlassMeter(() => (reads++, img), (t) => t);
    meter.start();
    await waitFor('ten frames read by the meter', () => reads, (n) => n >= 10, 2000);
    meter.stop();
    expect(meter.latencyMs).to.equal(null);
  });
});
