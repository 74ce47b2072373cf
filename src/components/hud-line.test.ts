import { expect, fixture, html } from '@open-wc/testing';
import './hud-line.ts';
import type { HudLine } from './hud-line.ts';

const shadow = (el: Element) => el.shadowRoot!;
const litBars = (hud: HudLine) => shadow(hud).querySelectorAll('.bars i.on').length;
describe('heads-up line: link quality', () => {
  it('three bars on a quick live link, two on a slow one, one when degraded, none when lost; said in words too', async () => {
    const hud = await fixture<HudLine>(html`<hv-hud .linkState=${'live'} .linkRttMs=${45}></hv-hud>`);
    expect(litBars(hud)).to.equal(3);
    const state = shadow(hud).querySelector('.state')!;
    expect(state.getAttribute('aria-label')).to.equal('live, 45 ms, link quality good');
    hud.linkRttMs = 300;
    await hud.updateComplete;
    expect(litBars(hud)).to.equal(2);
    expect(state.getAttribute('title')).to.equal('link quality: fair');
    hud.linkState = 'degraded';
    await hud.updateComplete;
    expect(litBars(hud)).to.equal(1);
    expect(shadow(hud).textContent).to.contain('weak link');
    hud.linkState = 'lost';
    hud.linkRttMs = null;
    await hud.updateComplete;
    expect(litBars(hud)).to.equal(0);
    expect(state.getAttribute('aria-label')).to.equal('link lost, link quality none');
  });
});
