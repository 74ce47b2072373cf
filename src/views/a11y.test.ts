// Accessibility of the whole app as an operator meets it: `havatar-app` in the states the layout
// test uses, each view run through axe-core at a phone's size. No serious or critical violation
// may remain, nor the moderate ones already found and fixed (a page without a top heading). Every
// control must also have an accessible name and show where the keyboard focus is.

import 'axe-core/axe.min.js';
import type { AxeResults, ImpactValue } from 'axe-core';
import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { Router } from '@vaadin/router';
import { setAppServices } from '../app/services.ts';
import '../app/havatar-app.ts';
import type { HavatarApp } from '../app/havatar-app.ts';
import { layoutServices, type LayoutState } from '../test/layout-states.ts';
import { waitFor } from '../../common/wait.ts';

declare global {
  interface Window { axe: { run(context: Element | Document, options?: object): Promise<AxeResults> } }
}

const VIEWS = { drive: { path: '/', tag: 'hv-drive-view' }, status: { path: '/status', tag: 'hv-status-view' }, settings: { path: '/settings', tag: 'hv-settings-view' } } as const;
type ViewName = keyof typeof VIEWS;
/** States that differ in what controls show: driving, viewing, no robot, no session, fallback. */
const STATES: LayoutState[] = ['local-driving', 'local-viewing', 'server-driving', 'server-no-session', 'auto-server-lost'];
const FAILING: ImpactValue[] = ['serious', 'critical'];
/** Moderate rules kept out too: a top heading (once missing on Drive), one main landmark, everything in a landmark. */
const ALSO_FAILING = ['page-has-heading-one', 'landmark-one-main', 'region'];

const CONTROLS = 'button, a[href], input, select, textarea, [tabindex]:not([tabindex="-1"]), [role="button"]';

/** Every element under `root`, through open shadow roots. */
function deepElements(root: Element | ShadowRoot | Document, out: Element[] = []): Element[] {
  for (const el of root.querySelectorAll('*')) {
    out.push(el);
    if (el.shadowRoot) deepElements(el.shadowRoot, out);
  }
  return out;
}

const describeEl = (el: Element): string => `<${el.localName}${el.id ? `#${el.id}` : ''}> "${(el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 30)}"`;

/** The element that has the focus, looked for through shadow roots. */
function deepActive(): Element | null {
  let a = document.activeElement;
  while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
  return a;
}

/** A focus the eye can find: a 2 px or wider outline, or a ring drawn with box-shadow. */
function focusShows(el: HTMLElement): boolean {
  el.focus({ focusVisible: true } as FocusOptions);
  if (deepActive() !== el) return true; // Not focusable as it stands (e.g. inert): nothing to show.
  const cs = getComputedStyle(el);
  const shows = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none';
  el.blur();
  return shows;
}

async function showView(app: HavatarApp, view: ViewName): Promise<Element> {
  const { path, tag } = VIEWS[view];
  if (location.pathname !== path) Router.go(path);
  const main = app.shadowRoot!.querySelector('main')!;
  const el = await waitFor(`the ${view} view`, () => main.querySelector(tag), (v) => v !== null, 3000);
  await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
  return el!;
}

function problemsOf(results: AxeResults): string[] {
  return results.violations
    .filter((v) => FAILING.includes(v.impact ?? null) || ALSO_FAILING.includes(v.id))
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
}

/**
 * One level-one heading per view. axe's own page-has-heading-one passes whenever it takes the page
 * for a modal (the drive view's full-screen video fools its heuristic), so it is checked here.
 */
function headingProblems(app: HavatarApp): string[] {
  const h1 = deepElements(app.shadowRoot!).filter((e) => e.localName === 'h1' || (e.getAttribute('role') === 'heading' && e.getAttribute('aria-level') === '1'));
  return h1.length === 1 ? [] : [`${h1.length} level-one headings`];
}

function focusProblems(app: HavatarApp): string[] {
  return deepElements(app.shadowRoot!)
    .filter((el): el is HTMLElement => el instanceof HTMLElement && el.matches(CONTROLS) && !(el as HTMLInputElement).disabled && el.getClientRects().length > 0)
    .filter((el) => !focusShows(el))
    .map((el) => `${describeEl(el)}: no visible focus`);
}

describe('accessibility (axe-core) at 390×844', function () {
  before(async () => {
    document.documentElement.lang = 'en';
    document.title = 'Havatar';
    await setViewport({ width: 390, height: 844 });
  });
  after(async () => {
    Router.go('/');
    await setViewport({ width: 800, height: 600 });
  });
  afterEach(() => setAppServices(null));

  for (const state of STATES) {
    it(`${state}: drive, status and settings have no serious or critical violation, every control a name and a visible focus`, async () => {
      const rig = await layoutServices(state);
      const app = await fixture<HavatarApp>(html`<havatar-app></havatar-app>`);
      await rig.settle();
      // A log long enough to scroll, as after an hour of driving (the log must then take focus).
      for (let i = 0; i < 80; i++) rig.s.log.add(`Reconnected after a drop (${i}).`);
      const problems: string[] = [];
      for (const view of Object.keys(VIEWS) as ViewName[]) {
        await showView(app, view);
        const results = await window.axe.run(document, { resultTypes: ['violations'] });
        problems.push(...problemsOf(results).map((p) => `${view}: ${p}`));
        problems.push(...[...headingProblems(app), ...focusProblems(app)].map((p) => `${view}: ${p}`));
      }
      rig.s.mode.stop();
      expect(problems, problems.join('\n')).to.deep.equal([]);
    });
  }
});
