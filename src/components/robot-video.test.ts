import { expect, fixture, html } from '@open-wc/testing';
import { msg, type LeaseStateMsg, type TelemetryMsg, type VideoNote } from '../../protocol/messages.ts';
import { createServices, setAppServices } from '../app/services.ts';
import { FakeLink, uniqueDbName } from '../test/fake-link.ts';
import './robot-video.ts';
import type { RobotVideo } from './robot-video.ts';
import '../views/drive-view.ts';

const shadow = (el: Element) => el.shadowRoot!;
const NOTE: VideoNote = { step: 2, of: 6, name: 'bitrate 35 %', reason: 'uplink congested: 612 ms of video waiting to leave' };

afterEach(() => setAppServices(null));

describe('robot video: lowered video', () => {
  it('says on the picture why the video is lowered, and nothing at full quality', async () => {
    const video = await fixture<RobotVideo>(html`<hv-robot-video></hv-robot-video>`);
    expect(shadow(video).querySelector('.note')).to.equal(null);
    video.note = NOTE;
    await video.updateComplete;
    const note = shadow(video).querySelector('.note')!;
    expect(note.textContent).to.equal(`Video lowered to bitrate 35 %: ${NOTE.reason}`);
    expect(note.getAttribute('title')).to.equal('step 2 of 5 below full quality');
    expect(note.getAttribute('role')).to.equal('status');
    video.note = null;
    await video.updateComplete;
    expect(shadow(video).querySelector('.note')).to.equal(null);
  });

  it('the drive view shows the note the robot\'s telemetry carries, and drops it when the telemetry does', async () => {
    const link = new FakeLink();
    setAppServices(createServices(uniqueDbName(), link));
    link.setState('live');
    link.receive(msg<LeaseStateMsg>({ type: 'lease', driver: 'me', driverName: 'Operator', you: true }));
    const view = await fixture(html`<hv-drive-view></hv-drive-view>`);
    const telemetry = (video?: VideoNote) => msg<TelemetryMsg>({
      type: 'telemetry', battery: { voltage: 12, percentage: 64 }, motors: { left: 0, right: 0 }, serial: true, ts: Date.now(), ...(video ? { video } : {}),
    });
    const settled = async () => {
      await (view as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
      await shadow(view).querySelector<RobotVideo>('hv-robot-video')!.updateComplete;
    };
    link.receive(telemetry(NOTE));
    await settled();
    const video = shadow(view).querySelector('hv-robot-video')!;
    expect(shadow(video).querySelector('.note')?.textContent).to.contain('612 ms of video waiting to leave');
    link.receive(telemetry());
    await settled();
    expect(shadow(video).querySelector('.note')).to.equal(null);
  });
});
