// What the end-to-end tests read from the app's page: the drive view's own account of its state
// (data-* attributes) and what the <video> or <img> on screen shows, found through the Lit
// elements' shadow roots.
import type { Page } from 'playwright-core';
import { waitFor } from '../common/wait.ts';

/** The drive view's state attributes (the app's own account of which path it is on). */
export interface ViewState { mode: string | null; video: string | null; videoState: string | null; fallback: string | null; link: string | null }
const DRIVE_VIEW = "document.querySelector('havatar-app')?.shadowRoot?.querySelector('hv-drive-view')";
export const viewState = (page: Page): Promise<ViewState> =>
  page.evaluate(`(() => { const v = ${DRIVE_VIEW}; if (!v) return {}; return {
    mode: v.getAttribute('data-mode'), video: v.getAttribute('data-video'), videoState: v.getAttribute('data-video-state'),
    fallback: v.getAttribute('data-fallback'), link: v.getAttribute('data-link') }; })()`) as Promise<ViewState>;

/** Page-side `find(root, selector)` that looks through open shadow roots (the app is Lit elements). */
export const FIND_IN_SHADOW = `const find = (root, sel) => { const hit = root.querySelector(sel); if (hit) return hit;
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const h = find(el.shadowRoot, sel); if (h) return h; } return null; };`;

/** What the <video> (or <img>) on screen is showing, found through the shadow roots. */
export interface Screen { kind: 'video' | 'img' | 'none'; width: number; height: number; frames: number; audioLive: boolean; muted: boolean }
export const screen = (page: Page): Promise<Screen> =>
  page.evaluate(`(() => {
    ${FIND_IN_SHADOW}
    const v = find(document, 'video[aria-label="Robot camera"]') || find(document, 'video');
    if (v && v.isConnected && v.videoWidth > 0) {
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
      const audio = v.srcObject ? v.srcObject.getAudioTracks() : [];
      return { kind: 'video', width: v.videoWidth, height: v.videoHeight, frames: q.totalVideoFrames,
        audioLive: audio.some((t) => t.readyState === 'live'), muted: v.muted };
    }
    const img = find(document, 'img');
    if (img && img.naturalWidth > 0) return { kind: 'img', width: img.naturalWidth, height: img.naturalHeight, frames: 0, audioLive: false, muted: true };
    return { kind: 'none', width: 0, height: 0, frames: 0, audioLive: false, muted: true };
  })()`) as Promise<Screen>;

/** Until the app plays the server's video (WebRTC unless said otherwise). */
export const onServerVideo = (page: Page, kind = 'webrtc', timeoutMs = 15_000): Promise<ViewState> =>
  waitFor(`server ${kind} video playing`, () => viewState(page), (s) => s.mode === 'server' && s.video === kind && s.videoState === 'playing', timeoutMs);

/**
 * The relay is not the origin the app came from (the robot): the app asks before it sends it
 * anything, once per browser context (then it is the server in use).
 */
export const confirmRelay = (page: Page, relayUrl: string): Promise<void> =>
  page.getByRole('button', { name: `Connect to ${new URL(relayUrl).host}` }).click({ timeout: 10_000 });
