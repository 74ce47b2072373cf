// The drive view's layout, one grid per screen shape. Every control is a direct grid item, so each
// layout places it where a thumb reaches it. What must always be on screen (STOP, Hold to talk,
// the joystick, Take/Release control) has fixed rows; the video and the messages give way when a
// screen is short (the video letterboxes, the messages scroll), so nothing needs page scrolling.
//  - phone portrait: video, heads-up line, messages, then stick beside STOP and talk, then the
//    buttons two by two and the text field;
//  - phone landscape: the video in the middle, the stick on the left, STOP, talk and control on
//    the right, one bar of buttons and text field under it;
//  - tablet landscape: video on the left, a column of controls on the right.

import { css } from 'lit';

export const driveViewStyles = css`
  :host {
    display: grid; height: 100%; min-height: 0; min-width: 0; box-sizing: border-box; color: var(--hv-fg, #fff);
    gap: 0.5rem; padding: 0 0.5rem 0.5rem; touch-action: manipulation; overscroll-behavior: none;
    grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr);
    /* video: as tall as the picture at full width (less than half a tall tablet), only what the controls leave; messages: what is left after that. */
    grid-template-rows: minmax(64px, min(100vw / var(--hv-video-aspect, 1.3333), 45dvh)) auto minmax(0, auto) auto minmax(56px, 1fr) auto auto auto;
    grid-template-areas: 'video video' 'hud hud' 'notices notices' 'stick stop' 'stick talk' 'lease sound' 'full stats' 'tts tts';
  }
  hv-robot-video { grid-area: video; min-height: 0; height: 100%; width: auto; margin: 0 -0.5rem; }
  hv-stats-panel { grid-area: video; align-self: start; justify-self: end; z-index: 2; margin: 0.3rem; max-height: calc(100% - 0.6rem); overflow: auto; box-sizing: border-box; }
  .hud { grid-area: hud; margin: -0.5rem -0.5rem 0; padding: 0.3rem 0.6rem; background: #000; min-width: 0; }
  .notices { grid-area: notices; min-height: 0; overflow-y: auto; overscroll-behavior: contain; display: flex; flex-direction: column; gap: 0.3rem; }
  .notices:empty { display: none; }
  hv-recordings { grid-area: video; align-self: stretch; z-index: 3; min-height: 0; margin: 0.3rem; }
  .recording { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem; }
  .recording:not(:has(*)) { display: none; }
  .rec { display: inline-block; background: #e00000; color: #fff; font-weight: 700; padding: 0.1rem 0.5rem; border-radius: 0.4rem; }
  .speaker { display: inline-block; background: #39e07a; color: #000; font-weight: 700; padding: 0.1rem 0.5rem; border-radius: 0.4rem; }
  hv-joystick { grid-area: stick; min-width: 0; min-height: 0; }
  .stop { grid-area: stop; }
  hv-talk-button { grid-area: talk; min-height: 56px; }
  .lease { grid-area: lease; }
  .sound { grid-area: sound; }
  .full { grid-area: full; }
  .stats-toggle { grid-area: stats; }
  .tools, .bar { display: contents; }
  form { grid-area: tts; display: flex; gap: 0.5rem; min-width: 0; }
  button, input { font: inherit; min-height: 44px; min-width: 44px; border-radius: 0.6rem; box-sizing: border-box; }
  button {
    background: #1d2b36; color: #fff; border: 2px solid #8aa0b0; padding: 0.1rem 0.6rem; font-weight: 600;
    font-size: 0.95rem; line-height: 1.15; overflow-wrap: break-word; min-width: 0;
  }
  button:focus-visible, input:focus-visible, .notices:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
  /* The view's heading is for screen readers: the video and controls leave no room for a title. */
  h1 { position: absolute; width: 1px; height: 1px; margin: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  button:disabled { opacity: 0.45; }
  .stop button { width: 100%; height: 100%; min-height: 64px; background: #e00000; border: 3px solid #fff; font-size: 1.4rem; font-weight: 800; letter-spacing: 0.05em; }
  .primary { background: #ffd400; color: #000; border-color: #fff; }
  input { flex: 1; min-width: 0; background: #fff; color: #000; border: 2px solid #8aa0b0; padding: 0 0.6rem; }
  form button { flex: none; }
  .notice { background: #ffd400; color: #000; font-weight: 700; padding: 0.3rem 0.6rem; border-radius: 0.4rem; overflow-wrap: anywhere; }
  .notice button { min-height: 36px; margin-left: 0.3rem; }
  .notice.bad { background: #ff6b6b; }
  .actions { font-size: 0.85rem; color: #cfd8de; margin: 0; padding: 0; list-style: none; overflow-wrap: anywhere; }
  .pending { color: #ffd400; } .failed, .expired { color: #ff6b6b; }

  /* Phone landscape: the video fills the middle; stick and talk sit under the thumbs, the whole left height is the stick's. */
  @media (orientation: landscape) and (max-height: 560px) {
    :host {
      padding: 0 0.5rem 0.4rem; gap: 0.4rem;
      grid-template-columns: minmax(0, 26vw) minmax(0, 1fr) minmax(0, 22vw);
      grid-template-rows: auto auto minmax(0, 1fr) auto auto;
      grid-template-areas: 'hud hud hud' 'stick video stop' 'stick video talk' 'stick video lease' 'bar bar bar';
    }
    hv-robot-video { margin: 0; }
    .hud { margin: 0 -0.5rem; }
    /* Over the bottom of the video, never all of it; the rest scrolls. */
    .notices { grid-area: video; align-self: end; z-index: 1; max-height: 60%; box-sizing: border-box; padding: 0.3rem; background: rgba(0 0 0 / 0.6); }
    .stop button { min-height: 56px; font-size: 1.2rem; padding: 0.1rem 0.3rem; letter-spacing: 0; }
    hv-talk-button { min-height: 44px; }
    .bar { grid-area: bar; display: flex; gap: 0.4rem; min-width: 0; }
    .tools { display: flex; gap: 0.4rem; flex: none; }
    .tools button { font-size: 0.85rem; padding: 0.1rem 0.45rem; }
    .bar form { flex: 1; }
  }
  /* Tablet landscape: video beside a column of controls. */
  @media (min-width: 900px) and (min-height: 600px) {
    :host {
      grid-template-columns: minmax(0, 1fr) 360px;
      grid-template-rows: auto minmax(0, auto) auto minmax(120px, 1fr) auto auto auto auto;
      grid-template-areas: 'hud hud' 'video notices' 'video stop' 'video stick' 'video talk' 'video lease' 'video bar' 'video tts';
    }
    hv-robot-video { margin: 0; }
    .hud { margin: 0 -0.5rem; }
    .stop button { min-height: 72px; }
    hv-talk-button { min-height: 80px; }
    .bar { display: contents; }
    .tools { grid-area: bar; display: flex; gap: 0.4rem; }
    .tools button { flex: 1 1 auto; font-size: 0.85rem; padding: 0.1rem 0.45rem; }
  }
`;
