// The robot's recordings as MediaMTX's playback server lists them (GET <playback>/list), asked with
// this session's token: the relay answers MediaMTX's `playback` question for drivers of the robot
// only. Play shows one in a <video>, Download saves it as an MP4 (both GET <playback>/get). Media
// elements and links cannot send an Authorization header, so those URLs carry the token in the
// query, which MediaMTX hands to the relay the same way.

import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';

/** One recording (contiguous segments) as /list gives it: start (RFC 3339), duration in seconds. */
export interface RecordingEntry { start: string; duration: number }

const LIST_TIMEOUT_MS = 5000;

/** `<playback>/<what>?...` whether the base ends in a slash or not. */
export function playbackCall(base: string, what: 'list' | 'get', params: Record<string, string>): string {
  return `${base.replace(/\/+$/, '')}/${what}?${new URLSearchParams(params).toString()}`;
}

const two = (n: number) => String(n).padStart(2, '0');
/** 754.2 → "12:34". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  return h ? `${h}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

@customElement('hv-recordings')
export class RecordingsList extends LitElement {
  static override styles = css`
    :host { display: block; background: rgba(0 0 0 / 0.88); color: #fff; padding: 0.5rem; border-radius: 0.4rem; overflow: auto; }
    header { display: flex; align-items: center; gap: 0.5rem; justify-content: space-between; }
    h2 { font-size: 1rem; margin: 0; }
    ul { list-style: none; margin: 0.4rem 0; padding: 0; display: flex; flex-direction: column; gap: 0.3rem; }
    li { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; font-variant-numeric: tabular-nums; }
    li span { flex: 1 1 10rem; }
    button, a { font: inherit; min-height: 44px; min-width: 44px; box-sizing: border-box; border-radius: 0.6rem; padding: 0.1rem 0.6rem;
      background: #1d2b36; color: #fff; border: 2px solid #8aa0b0; font-weight: 600; display: inline-flex; align-items: center; text-decoration: none; }
    video { display: block; width: 100%; max-height: 60vh; background: #000; margin-top: 0.4rem; }
    [role='alert'] { color: #ffb4a8; }
  `;

  /** MediaMTX's playback server as the app reaches it (handed out with the session). */
  @property() playbackUrl = '';
  @property() robot = '';
  /** The session token (a driver's: viewers are refused). */
  @property() token = '';
  /** Bump to list again (e.g. when a recording stopped). */
  @property({ type: Number }) revision = 0;
  /** Tests pass their own. */
  fetchImpl: typeof fetch = (...a) => fetch(...a);
  @state() private entries: RecordingEntry[] | null = null;
  @state() private error: string | null = null;
  @state() private playing: RecordingEntry | null = null;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('playbackUrl') || changed.has('robot') || changed.has('revision')) void this.load();
  }

  private get path(): string { return `robots/${this.robot}`; }

  /** `<playback>/get` of one recording as MP4, with the token (for <video src> and the download link). */
  getUrl(e: RecordingEntry): string {
    return playbackCall(this.playbackUrl, 'get', { path: this.path, start: e.start, duration: String(e.duration), format: 'mp4', token: this.token });
  }

  async load(): Promise<void> {
    if (!this.playbackUrl || !this.robot) return;
    this.error = null;
    let res: Response;
    try {
      res = await this.fetchImpl(playbackCall(this.playbackUrl, 'list', { path: this.path }), {
        headers: { Authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(LIST_TIMEOUT_MS),
      });
    } catch (e) {
      this.error = `The recordings server cannot be reached (${(e as Error).message}).`;
      return;
    }
    if (res.status === 404) { this.entries = []; return; } // MediaMTX: "no recordings found"
    if (res.status === 401) { this.error = 'Recordings are for drivers of this robot (or the session expired: open the invite link again).'; return; }
    if (!res.ok) { this.error = `The recordings server answered ${res.status}.`; return; }
    const body = (await res.json().catch(() => null)) as unknown;
    this.entries = Array.isArray(body)
      ? (body as Partial<RecordingEntry>[]).filter((x): x is RecordingEntry => !!x && typeof x.start === 'string' && typeof x.duration === 'number').reverse()
      : [];
  }

  override render() {
    const entries = this.entries;
    return html`<section aria-label="Recordings">
      <header><h2>Recordings</h2><button @click=${() => void this.load()}>Refresh</button></header>
      ${this.error ? html`<p role="alert">${this.error}</p>` : nothing}
      ${entries && !entries.length && !this.error ? html`<p>No recordings yet.</p>` : nothing}
      ${entries?.length ? html`<ul>${entries.map((e) => html`<li data-start=${e.start}>
          <span>${new Date(e.start).toLocaleString()} · ${formatDuration(e.duration)}</span>
          <button @click=${() => (this.playing = e)} aria-label=${`Play the recording of ${new Date(e.start).toLocaleString()}`}>Play</button>
          <a href=${this.getUrl(e)} download=${`${this.robot}-${e.start.replace(/[:.]/g, '-')}.mp4`}>Download</a>
        </li>`)}</ul>` : nothing}
      ${this.playing ? html`<video aria-label="Recording" controls autoplay playsinline crossorigin="anonymous" src=${this.getUrl(this.playing)}></video>` : nothing}
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-recordings': RecordingsList }
}
