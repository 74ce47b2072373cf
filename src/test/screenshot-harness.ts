// The page scripts/screenshots.ts photographs: the real app shell in one of the layout states
// (layout-states.ts), with a test picture for the camera. `?state=server-driving&view=drive`;
// the root element gets data-ready="yes" once the view is drawn.

import { Router } from '@vaadin/router';
import '../app/havatar-app.ts';
import { LAYOUT_STATES, layoutServices, testPicture, type LayoutState } from './layout-states.ts';
import { waitFor } from '../../common/wait.ts';

const VIEW_PATH = { drive: '/', status: '/status', settings: '/settings' } as const;

const q = new URLSearchParams(location.search);
const state = q.get('state') as LayoutState;
const view = (q.get('view') ?? 'drive') as keyof typeof VIEW_PATH;
if (!LAYOUT_STATES.includes(state) || !(view in VIEW_PATH)) throw new Error(`unknown state or view: ${state}, ${view}`);

const rig = await layoutServices(state, testPicture());
const app = document.createElement('havatar-app');
document.body.append(app);
await rig.settle();
Router.go(VIEW_PATH[view]);
await waitFor(`the ${view} view`, () => app.shadowRoot?.querySelector(`main > hv-${view}-view`) ?? null, (v) => v !== null, 5000);
document.documentElement.dataset.ready = 'yes';
