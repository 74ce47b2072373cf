import { expect } from '@open-wc/testing';
import { ClockOffset } from './clock.ts';
import { apiUrl, authHeaders, videoUrl, wsUrl } from './robot-urls.ts';

const t = { robotUrl: '', token: 'tok', audioEnabled: true, videoSize: 'auto' };

describe('robot URLs', () => {
  it('defaults to the page’s own origin (the bridge serves the app)', () => {
    expect(apiUrl(t, 'system_status', 'https://robot:5443/settings')).to.equal('https://robot:5443/system_status');
  });

  it('puts the token in ?token= for the video and the WebSocket, and asks for audio there', () => {
    expect(videoUrl(t, 'http://127.0.0.1:5000/')).to.equal('http://127.0.0.1:5000/video?token=tok');
    expect(wsUrl(t, 'https://robot:5443/')).to.equal('wss://robot:5443/ws?token=tok&audio=1');
    expect(wsUrl({ ...t, audioEnabled: false, robotUrl: 'http://10.0.0.2:5000' })).to.equal('ws://10.0.0.2:5000/ws?token=tok');
  });

  it('sends the token as a bearer header for fetch, and nothing without one', () => {
    expect(authHeaders(t)).to.deep.equal({ Authorization: 'Bearer tok' });
    expect(authHeaders({ token: '' })).to.deep.equal({});
  });
});

describe('clock offset', () => {
  it('estimates robot minus app time from the least delayed sample and the best round trip', () => {
    const c = new ClockOffset();
    expect(c.offsetMs).to.equal(null);
    // robot is 1000 ms ahead; one-way delays 30, 10, 50 ms; best round trip 20 ms
    c.sample(11_000, 10_030);
    c.sample(12_000, 11_010);
    c.sample(13_000, 12_050);
    c.roundTrip(20);
    expect(c.offsetMs).to.equal(1000);
    expect(c.toLocal(20_000)).to.equal(19_000);
  });
});
