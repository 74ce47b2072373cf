// Server mode for phones on the LAN (`npm start -- --lan`): the relay hands each client the media
// base on the host it asked by, and MediaMTX offers exactly the addresses it was given as ICE
// candidates while its HTTP listeners stay on loopback. The whole path from a phone is
// e2e/phone-server-lan.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMediamtxConfig } from '../mediamtx-config.ts';
import { mediaUrlsFor } from '../relay/http-routes.ts';

const MEDIA = 'http://127.0.0.1:8889, https://10.1.2.3:3443';
const HLS = 'http://127.0.0.1:8888,https://10.1.2.3:3443/hls/';

test('a relay reached under several names hands out the media base on the name the client used', () => {
  const { whepUrl, whipUrl, hlsUrl } = mediaUrlsFor('sim', '10.1.2.3:3443', MEDIA, HLS);
  assert.deepEqual({ whepUrl, whipUrl, hlsUrl }, {
    whepUrl: 'https://10.1.2.3:3443/robots/sim/whep',
    whipUrl: 'https://10.1.2.3:3443/robots/sim/talk/whip',
    hlsUrl: 'https://10.1.2.3:3443/hls/robots/sim/index.m3u8',
  });
  assert.equal(mediaUrlsFor('sim', '127.0.0.1:3000', MEDIA, HLS).whepUrl, 'http://127.0.0.1:8889/robots/sim/whep');
  // A name the list does not know (or no Host at all): the first.
  assert.equal(mediaUrlsFor('sim', 'robot.example', MEDIA, HLS).hlsUrl, 'http://127.0.0.1:8888/robots/sim/index.m3u8');
  assert.equal(mediaUrlsFor('sim', undefined, MEDIA, HLS).whepUrl, 'http://127.0.0.1:8889/robots/sim/whep');
  // One base, as in a deployment: always that one.
  assert.equal(mediaUrlsFor('sim', '10.1.2.3', 'https://robot.example.org', undefined).whepUrl, 'https://robot.example.org/robots/sim/whep');
});

test('MediaMTX for the LAN: HTTP on loopback, WebRTC media on every interface, ICE candidates only the given addresses', () => {
  const out = renderMediamtxConfig({ host: '127.0.0.1', iceHost: '', webrtcPort: 8889, webrtcUdpPort: 8189, iceHosts: ['127.0.0.1', '10.1.2.3'], trustedProxies: ['127.0.0.1'] });
  assert.match(out, /^webrtcAddress: 127\.0\.0\.1:8889$/m);
  assert.match(out, /^hlsAddress: 127\.0\.0\.1:8888$/m);
  assert.match(out, /^rtspAddress: 127\.0\.0\.1:8554$/m);
  assert.match(out, /^webrtcLocalUDPAddress: :8189$/m);
  assert.match(out, /^webrtcIPsFromInterfaces: no$/m);
  assert.match(out, /^webrtcAdditionalHosts: \["127\.0\.0\.1", "10\.1\.2\.3"\]$/m);
  assert.match(out, /^webrtcTrustedProxies: \["127\.0\.0\.1"\]$/m);
  // Loopback only (the default of npm start and the tests) is unchanged.
  const loop = renderMediamtxConfig({ host: '127.0.0.1', webrtcUdpPort: 8189, loopbackOnly: true });
  assert.match(loop, /^webrtcLocalUDPAddress: 127\.0\.0\.1:8189$/m);
  assert.match(loop, /^webrtcAdditionalHosts: \["127\.0\.0\.1"\]$/m);
});
