// Text-to-speech: espeak-ng renders WAV to stdout, FFmpeg plays it on the SpeakerSink (so the
// simulator's recording speaker records speech too). The text goes to espeak-ng on stdin: never
// through a shell, never as an argument that could be read as an option.
//
// One utterance at a time, and a second request while speaking is refused (TtsBusyError) rather
// than queued: a robot that keeps talking for seconds after the operator moved on is worse than a
// clear "busy" (POST /tts answers 409).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createLogger, type Logger } from '../../common/log.ts';
import { MAX_TTS_CHARS } from '../../protocol/limits.ts';
import { FFMPEG_BIN, ttsPlaybackArgs } from '../media/ffmpeg-args.ts';
import type { SpeakerSink, Tts } from './types.ts';

export const ESPEAK_BIN = process.env.HAVATAR_ESPEAK || 'espeak-ng';
/** Longest an utterance may play before it is cut (500 characters take ~40 s at 160 wpm). */
export const MAX_TTS_MS = 60_000;
const VOICE = /^[a-z]{2,3}([-+][\w-]{1,20})?$/i;

export class TtsBusyError extends Error {
  constructor() { super('already speaking'); this.name = 'TtsBusyError'; }
}

export interface EspeakTtsOptions {
  sink: SpeakerSink;
  /** espeak-ng voice, e.g. "en", "ro", "en-us". */
  voice?: string;
  /** Words per minute (80..400). */
  wordsPerMinute?: number;
  logger?: Logger;
}

/** Trims, removes control characters and checks the length; throws RangeError on bad text. */
export function cleanTtsText(text: unknown): string {
  if (typeof text !== 'string') throw new RangeError('text must be a string');
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (clean.length === 0) throw new RangeError('text is empty');
  if (clean.length > MAX_TTS_CHARS) throw new RangeError(`text is longer than ${MAX_TTS_CHARS} characters`);
  return clean;
}

export class EspeakTts implements Tts {
  private readonly sink: SpeakerSink;
  private readonly voice: string;
  private readonly wpm: number;
  private readonly log: Logger;
  private available: boolean | null = null;
  private children: ChildProcess[] = [];

  constructor(options: EspeakTtsOptions) {
    this.sink = options.sink;
    this.voice = options.voice ?? 'en';
    this.wpm = options.wordsPerMinute ?? 160;
    if (!VOICE.test(this.voice)) throw new RangeError(`espeak-ng voice must look like "en" or "en-us", got ${JSON.stringify(this.voice)}`);
    if (!Number.isInteger(this.wpm) || this.wpm < 80 || this.wpm > 400) throw new RangeError(`words per minute must be 80..400, got ${this.wpm}`);
    this.log = (options.logger ?? createLogger('tts'));
  }

  get info(): Tts['info'] {
    return { engine: 'espeak-ng', voice: this.voice, available: this.isAvailable(), speaking: this.children.length > 0 };
  }

  /** Speaks `text`; resolves when the speaker has played it. Rejects with TtsBusyError while speaking. */
  async speak(text: string): Promise<void> {
    const clean = cleanTtsText(text);
    if (this.children.length) throw new TtsBusyError();
    if (!this.isAvailable()) throw new Error('espeak-ng is not installed');
    const espeak = spawn(ESPEAK_BIN, ['-v', this.voice, '-s', String(this.wpm), '--stdin', '--stdout'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const ffmpeg = spawn(FFMPEG_BIN, ttsPlaybackArgs(this.sink), { detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    this.children = [espeak, ffmpeg];
    this.log.info('speak', { chars: clean.length, voice: this.voice });
    let stderr = '';
    espeak.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-500); });
    ffmpeg.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-500); });
    espeak.stdin!.on('error', () => {});
    ffmpeg.stdin!.on('error', () => {});
    espeak.stdout!.pipe(ffmpeg.stdin!);
    espeak.stdin!.end(clean + '\n');
    const timer = setTimeout(() => {
      this.log.warn('utterance too long: cut', { maxMs: MAX_TTS_MS });
      this.killAll();
    }, MAX_TTS_MS);
    try {
      const [espeakCode, ffmpegCode] = await Promise.all([exitOf(espeak), exitOf(ffmpeg)]);
      if (espeakCode !== 0 || ffmpegCode !== 0) {
        throw new Error(`speech failed (espeak-ng ${espeakCode}, ffmpeg ${ffmpegCode}): ${stderr.trim().split('\n').pop() ?? ''}`);
      }
    } finally {
      clearTimeout(timer);
      this.children = [];
    }
  }

  /** Cuts any utterance in progress. */
  async close(): Promise<void> {
    const exits = this.children.map(exitOf);
    this.killAll();
    await Promise.all(exits);
  }

  private killAll(): void {
    for (const child of this.children) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }

  private isAvailable(): boolean {
    if (this.available === null) {
      const probe = spawnSync(ESPEAK_BIN, ['--version'], { stdio: 'ignore', timeout: 3000 });
      this.available = probe.status === 0;
      if (!this.available) this.log.warn('espeak-ng not found: text-to-speech disabled');
    }
    return this.available;
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('close', (code) => resolve(code));
  });
}
