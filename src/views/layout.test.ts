// The layout on every screen an operator holds, in real Chromium: the whole app (shell, header and
// each view) in every connection state, at portrait phone widths 320–430 px, landscape phones
// 568–932 px and tablets. STOP, Hold to talk, the joystick and Take/Release control must be fully
// on screen without scrolling and never overlap; the navigation must be reachable; nothing may
// stick out of the screen sideways, and text that does not fit is cut with an ellipsis only where
// its full text is in a title or aria-label.

import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { Router } from '@vaadin/router';
import { setAppServices } from '../app/services.ts';
import '../app/havatar-app.ts';
import type { HavatarApp } from '../app/havatar-app.ts';
import { LAYOUT_STATES, layoutServices, type LayoutState } from '../test/layout-states.ts';
import { waitFor } from '../../common/wait.ts';

interface Viewport { width: number; height: number }
const VIEWPORTS: Viewport[] = [
  // Portrait phones: iPhone SE 1st gen, small Android, Android, iPhone SE, iPhone 12–15, Pixel, Pro Max.
  { width: 320, height: 568 }, { width: 360, height: 640 }, { width: 360, height: 740 }, { width: 375, height: 667 },
  { width: 390, height: 844 }, { width: 412, height: 915 }, { width: 430, height: 932 },
  // Landscape phones.
  { width: 568, height: 320 }, { width: 667, height: 375 }, { width: 740, height: 360 }, { width: 844, height: 390 }, { width: 932, height: 430 },
  // Tablets, both ways up.
  { width: 768, height: 1024 }, { width: 1024, height: 768 }, { width: 820, height: 1180 }, { width: 1180, height: 820 },
];

const VIEWS = { drive: { path: '/', tag: 'hv-drive-view' }, status: { path: '/status', tag: 'hv-status-view' }, settings: { path: '/settings', tag: 'hv-settings-view' } } as const;
type ViewName = keyof typeof VIEWS;

/** Every element under `root`, through open shadow roots. */
function deepElements(root: Element | ShadowRoot, out: Element[] = []): Element[] {
  for (const el of root.querySelectorAll('*')) {
    out.push(el);
    if (el.shadowRoot) deepElements(el.shadowRoot, out);
  }
  return out;
}

/** Drawn on screen: a box, visible, and not a screen-reader-only text (clipped to nothing). */
const shown = (el: Element): boolean => {
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  return r.width > 1 && r.height > 1 && cs.visibility !== 'hidden' && cs.clipPath !== 'inset(50%)';
};
const describeEl = (el: Element): string => {
  const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 30);
  return `<${el.localName}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''}>${text ? ` "${text}"` : ''}`;
};
const boxText = (r: DOMRect): string => `[${Math.round(r.left)},${Math.round(r.top)} → ${Math.round(r.right)},${Math.round(r.bottom)}]`;
const inside = (r: DOMRect, vp: Viewport): boolean => r.left >= -0.5 && r.top >= -0.5 && r.right <= vp.width + 0.5 && r.bottom <= vp.height + 0.5;
const overlap = (a: DOMRect, b: DOMRect): boolean =>
  Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
const union = (rs: DOMRect[]): DOMRect => {
  const left = Math.min(...rs.map((r) => r.left)), top = Math.min(...rs.map((r) => r.top));
  return new DOMRect(left, top, Math.max(...rs.map((r) => r.right)) - left, Math.max(...rs.map((r) => r.bottom)) - top);
};

const parentOf = (e: Element): Element | null => e.parentElement ?? ((e.getRootNode() as ShadowRoot).host ?? null);

/** The full text of an element that shows it cut: its own or an ancestor's title / aria-label. */
function fullTextOf(el: Element): string {
  for (let e: Element | null = el; e; e = parentOf(e)) {
    const t = e.getAttribute('title') || e.getAttribute('aria-label');
    if (t) return t;
  }
  return '';
}

/** Problems with the header: the navigation out of reach, anything sticking out. */
function headerProblems(app: HavatarApp, vp: Viewport): string[] {
  const problems: string[] = [];
  const links = deepElements(app.shadowRoot!).filter((e) => e.matches('nav a'));
  if (links.length !== 3) problems.push(`navigation has ${links.length} links`);
  for (const a of links) {
    const r = a.getBoundingClientRect();
    if (!inside(r, vp) || r.width < 44 || r.height < 44) problems.push(`nav link ${describeEl(a)} ${boxText(r)} not fully on screen at 44 px`);
  }
  return problems;
}

/** The part of `el` not clipped away by a scrolling or clipping ancestor (what shows, or scrolls into view). */
function visibleRect(el: Element): DOMRect {
  let r = el.getBoundingClientRect();
  for (let a = parentOf(el); a; a = parentOf(a)) {
    if (a.localName === 'main' || getComputedStyle(a).overflowY === 'visible') continue;
    const c = a.getBoundingClientRect();
    const left = Math.max(r.left, c.left), top = Math.max(r.top, c.top);
    r = new DOMRect(left, top, Math.max(0, Math.min(r.right, c.right) - left), Math.max(0, Math.min(r.bottom, c.bottom) - top));
  }
  return r;
}

/** Problems anywhere in the app: sideways overflow, cut text without ellipsis or full text. */
function textProblems(app: HavatarApp, vp: Viewport, wholeScreen: boolean): string[] {
  const problems: string[] = [];
  for (const el of deepElements(app.shadowRoot!)) {
    if (!shown(el)) continue;
    const r = visibleRect(el);
    if (r.width === 0 || r.height === 0) continue;
    if (r.left < -0.5 || r.right > vp.width + 0.5) problems.push(`${describeEl(el)} ${boxText(r)} sticks out sideways`);
    else if (wholeScreen && (r.top < -0.5 || r.bottom > vp.height + 0.5)) problems.push(`${describeEl(el)} ${boxText(r)} is off screen`);
    const cs = getComputedStyle(el);
    if (cs.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1 && el.localName !== 'main') {
      const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ');
      if (cs.textOverflow !== 'ellipsis') problems.push(`${describeEl(el)} cut without an ellipsis`);
      else if (!fullTextOf(el).replace(/\s+/g, ' ').includes(text)) problems.push(`${describeEl(el)} cut, full text not in title/aria-label`);
    }
  }
  return problems;
}

/** The controls that must be on screen and apart on the drive view. */
function driveControls(view: Element): Record<string, DOMRect> {
  const root = view.shadowRoot!;
  const stick = root.querySelector('hv-joystick')!;
  const stickParts = [stick, ...deepElements(stick.shadowRoot!)].filter(shown).map((e) => e.getBoundingClientRect());
  const lease = [...root.querySelectorAll('button')].find((b) => /(Take|Ask for|Release) control/.test(b.textContent ?? ''))!;
  return {
    STOP: root.querySelector('.stop button')!.getBoundingClientRect(),
    'Hold to talk': root.querySelector('hv-talk-button')!.shadowRoot!.querySelector('button')!.getBoundingClientRect(),
    joystick: union(stickParts),
    [lease.textContent!.trim()]: lease.getBoundingClientRect(),
  };
}

function driveProblems(view: Element, vp: Viewport): string[] {
  const problems: string[] = [];
  const boxes = Object.entries(driveControls(view));
  for (const [name, r] of boxes) if (!inside(r, vp)) problems.push(`${name} ${boxText(r)} not fully on screen`);
  for (const [name, r] of boxes) if (r.width < 44 || r.height < 44) problems.push(`${name} ${boxText(r)} smaller than a 44 px touch target`);
  const zone = view.shadowRoot!.querySelector('hv-joystick')!.shadowRoot!.querySelector('.zone')!.getBoundingClientRect();
  if (zone.width < 96) problems.push(`the joystick's zone is only ${Math.round(zone.width)} px across`);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i]!, [b, rb] = boxes[j]!;
      if (overlap(ra, rb)) problems.push(`${a} ${boxText(ra)} overlaps ${b} ${boxText(rb)}`);
    }
  }
  const main = view.parentElement!;
  if (main.scrollHeight > main.clientHeight + 1) problems.push(`the drive view scrolls (${main.scrollHeight} px in ${main.clientHeight} px)`);
  return problems;
}

const frame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => r()));

/** Waits until a frame draws every box as the one before (the joystick rebuilds after a resize). */
async function settled(app: HavatarApp): Promise<void> {
  let last = '';
  await waitFor('the layout to settle', async () => {
    await frame();
    const now = deepElements(app.shadowRoot!).map((e) => boxText(e.getBoundingClientRect())).join();
    const same = now === last;
    last = now;
    return same;
  }, Boolean, 3000);
}

async function showView(app: HavatarApp, view: ViewName): Promise<Element> {
  const { path, tag } = VIEWS[view];
  if (location.pathname !== path) Router.go(path);
  const main = app.shadowRoot!.querySelector('main')!;
  return waitFor(`the ${view} view`, () => main.querySelector(tag), (v) => v !== null, 3000) as Promise<Element>;
}

/** Every problem of one state and view, over all viewports. */
async function problemsOver(app: HavatarApp, state: LayoutState, view: ViewName): Promise<string[]> {
  const first = await showView(app, view);
  // The driver's view with the stats panel open over the video too.
  if (view === 'drive' && state.endsWith('-driving')) {
    first.shadowRoot!.querySelector<HTMLButtonElement>('button.stats-toggle')!.click();
    await waitFor('the stats panel', () => first.shadowRoot!.querySelector('hv-stats-panel'), (p) => p !== null, 1000);
  }
  const out: string[] = [];
  for (const vp of VIEWPORTS) {
    await setViewport(vp);
    await settled(app);
    // The router may have put a fresh element in since (a second navigation to the same view).
    const el = await showView(app, view);
    await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    const page = document.scrollingElement!;
    const found = [
      ...(page.scrollWidth > vp.width || page.scrollHeight > vp.height ? [`the page scrolls (${page.scrollWidth}×${page.scrollHeight})`] : []),
      ...headerProblems(app, vp),
      ...textProblems(app, vp, view === 'drive'),
      ...(view === 'drive' ? driveProblems(el, vp) : []),
    ];
    out.push(...found.map((p) => `${vp.width}×${vp.height} ${state} ${view}: ${p}`));
  }
  return out;
}

describe('layout on phones and tablets', function () {
  before(async () => {
    // The page's own ground, as index.html loads it (margins, safe areas, overscroll).
    const link = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: '/src/boot.css' });
    document.head.append(link);
    await waitFor('boot.css', () => getComputedStyle(document.body).marginTop, (m) => m === '0px', 3000);
  });
  after(async () => {
    Router.go('/');
    await setViewport({ width: 800, height: 600 });
  });
  afterEach(() => setAppServices(null));

  for (const state of LAYOUT_STATES) {
    for (const view of Object.keys(VIEWS) as ViewName[]) {
      it(`${state}, ${view} view: controls on screen and apart, navigation reachable, no cut text`, async () => {
        const rig = await layoutServices(state);
        const app = await fixture<HavatarApp>(html`<havatar-app></havatar-app>`);
        await rig.settle();
        const problems = await problemsOver(app, state, view);
        rig.s.mode.stop();
        expect(problems, problems.slice(0, 40).join('\n')).to.deep.equal([]);
      });
    }
  }
});
