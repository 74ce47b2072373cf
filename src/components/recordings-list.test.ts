// The recordings list: what MediaMTX's playback server lists for the session (newest first), the
// play and download URLs it builds (the token in the query: media elements send no headers), and
// what a viewer, an empty server or an unreachable one shows. The real playback: e2e/recording.test.ts.

import { expect, fixture, html } from '@open-wc/testing';
import { waitFor } from '../../common/wait.ts';
import { formatDuration, playbackCall, type RecordingsList } from './recordings-list.ts';
import './recordings-list.ts';

interface Call { url: string; auth: string }
function server(status: number, answer: unknown, calls: Call[]): typeof fetch {
  return (async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), auth: new Headers(init?.headers).get('Authorization') ?? '' });
    return new Response(JSON.stringify(answer), { status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
}

const LIST = [
  { start: '2026-12-06T10:00:00.000000Z', duration: 12.5, url: 'http://ignored/get' },
  { start: '2026-12-06T11:30:00.000000Z', duration: 3725, url: 'http://ignored/get' },
];

async function mount(fetchImpl: typeof fetch, base = 'https://robot.example/playback'): Promise<RecordingsList> {
  return fixture<RecordingsList>(html`<hv-recordings .fetchImpl=${fetchImpl} .playbackUrl=${base} .robot=${'sim'} .token=${'hs_driver'}></hv-recordings>`);
}
const text = (el: RecordingsList) => el.shadowRoot!.textContent!.replace(/\s+/g, ' ');

describe('recordings list', () => {
  it('lists what the playback server has for the robot, newest first, asked with the session token', async () => {
    const calls: Call[] = [];
    const el = await mount(server(200, LIST, calls));
    await waitFor('two recordings listed', () => el.shadowRoot!.querySelectorAll('li').length, (n) => n === 2);
    expect(calls).to.deep.equal([{ url: 'https://robot.example/playback/list?path=robots%2Fsim', auth: 'Bearer hs_driver' }]);
    const items = [...el.shadowRoot!.querySelectorAll('li')];
    expect(items.map((li) => li.dataset.start)).to.deep.equal([LIST[1]!.start, LIST[0]!.start]);
    expect(items[0]!.textContent).to.contain('1:02:05');
    const download = items[1]!.querySelector('a')!;
    expect(download.getAttribute('href')).to.equal(
      'https://robot.example/playback/get?path=robots%2Fsim&start=2026-12-06T10%3A00%3A00.000000Z&duration=12.5&format=mp4&token=hs_driver');
    expect(download.hasAttribute('download')).to.equal(true);
  });

  it('plays one in a video element that can be read (CORS), from the same URL', async () => {
    const el = await mount(server(200, LIST, []));
    await waitFor('listed', () => el.shadowRoot!.querySelectorAll('li').length, (n) => n === 2);
    el.shadowRoot!.querySelector<HTMLButtonElement>('li:last-child button')!.click();
    await el.updateComplete;
    const video = el.shadowRoot!.querySelector('video')!;
    expect(video.getAttribute('aria-label')).to.equal('Recording');
    expect(video.getAttribute('crossorigin')).to.equal('anonymous');
    expect(video.getAttribute('src')).to.equal(el.shadowRoot!.querySelector('li:last-child a')!.getAttribute('href'));
  });

  it('says so when there is nothing yet, when the session may not see recordings, and when the server is away', async () => {
    const empty = await mount(server(404, { status: 'error', error: 'no recordings found' }, []));
    await waitFor('the empty message', () => text(empty), (t) => t.includes('No recordings yet.'));
    const viewer = await mount(server(401, { status: 'error', error: 'authentication error' }, []));
    await waitFor('the refusal', () => viewer.shadowRoot!.querySelector('[role="alert"]')?.textContent ?? '', (t) => t.includes('for drivers of this robot'));
    const away = await mount((async () => { throw new TypeError('Failed to fetch'); }) as typeof fetch);
    await waitFor('the network error', () => away.shadowRoot!.querySelector('[role="alert"]')?.textContent ?? '', (t) => t.includes('cannot be reached'));
  });

  it('builds URLs on a base with or without a trailing slash, and formats durations', () => {
    expect(playbackCall('http://127.0.0.1:9996/', 'list', { path: 'robots/a' })).to.equal('http://127.0.0.1:9996/list?path=robots%2Fa');
    expect(playbackCall('https://x.example/playback', 'list', { path: 'robots/a' })).to.equal('https://x.example/playback/list?path=robots%2Fa');
    expect([formatDuration(0), formatDuration(59.6), formatDuration(754.2), formatDuration(3600)]).to.deep.equal(['0:00', '1:00', '12:34', '1:00:00']);
  });
});
