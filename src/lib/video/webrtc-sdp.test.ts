// The pure parts of WHEP/WHIP: Link headers, offer parsing, trickle-ICE fragments, URLs.

import { expect } from '@open-wc/testing';
import { hasH264, parseIceServers, parseOffer, sdpFragment, separateAudioStream, sessionUrl, withToken } from './webrtc-sdp.ts';

const OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:AbCd', 'a=ice-pwd:secretpwd123', 'a=mid:0', 'a=recvonly',
  'a=rtpmap:96 VP8/90000', 'a=rtpmap:102 H264/90000',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:AbCd', 'a=ice-pwd:secretpwd123', 'a=mid:1', 'a=recvonly', 'a=rtpmap:111 opus/48000/2',
  '',
].join('\r\n');

describe('WHEP/WHIP SDP helpers', () => {
  it('reads ICE servers (with credentials) from Link headers and ignores other relations', () => {
    const servers = parseIceServers('<stun:stun.example.org:3478>; rel="ice-server", <turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="u1"; credential="p,w\\"x"; credential-type="password", <https://x/>; rel="next"');
    expect(servers).to.deep.equal([
      { urls: ['stun:stun.example.org:3478'] },
      { urls: ['turn:turn.example.org:3478?transport=udp'], username: 'u1', credential: 'p,w"x' },
    ]);
    expect(parseIceServers(null)).to.deep.equal([]);
  });

  it('takes the ICE credentials and the media lines of an offer', () => {
    const o = parseOffer(OFFER);
    expect(o.iceUfrag).to.equal('AbCd');
    expect(o.icePwd).to.equal('secretpwd123');
    expect(o.medias).to.deep.equal(['video 9 UDP/TLS/RTP/SAVPF 96 102', 'audio 9 UDP/TLS/RTP/SAVPF 111']);
    expect(hasH264(OFFER)).to.equal(true);
    expect(hasH264(OFFER.replace('H264', 'AV1X'))).to.equal(false);
  });

  it('builds a trickle-ICE fragment grouped per media section, in order, CRLF-terminated', () => {
    const frag = sdpFragment(parseOffer(OFFER), [
      { candidate: 'candidate:2 1 udp 2122 127.0.0.1 50001 typ host', sdpMLineIndex: 1 },
      { candidate: 'candidate:1 1 udp 2122 127.0.0.1 50000 typ host', sdpMLineIndex: 0 },
      { candidate: 'candidate:3 1 udp 2122 127.0.0.1 50002 typ host', sdpMLineIndex: null },
      { candidate: 'candidate:9 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: 7 },
    ]);
    expect(frag).to.equal(
      'a=ice-ufrag:AbCd\r\na=ice-pwd:secretpwd123\r\n' +
        'm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=mid:0\r\na=candidate:1 1 udp 2122 127.0.0.1 50000 typ host\r\n' +
        'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=candidate:2 1 udp 2122 127.0.0.1 50001 typ host\r\n',
    );
  });

  it('resolves a relative Location against the WHEP URL and adds ?token= without losing the query', () => {
    expect(sessionUrl('/robots/sim/whep/abc-123', 'http://127.0.0.1:8889/robots/sim/whep')).to.equal('http://127.0.0.1:8889/robots/sim/whep/abc-123');
    expect(sessionUrl(null, 'http://x/')).to.equal(null);
    expect(withToken('http://h:8888/robots/sim/index.m3u8?a=1', 'hs_t')).to.equal('http://h:8888/robots/sim/index.m3u8?a=1&token=hs_t');
    expect(withToken('http://h/x', '')).to.equal('http://h/x');
  });
});

describe('separateAudioStream', () => {
  const answer = [
    'v=0', 'a=msid-semantic:WMS *',
    'm=video 9 UDP/TLS/RTP/SAVPF 108', 'a=mid:0', 'a=ssrc:1019 cname:mediamtx', 'a=ssrc:1019 msid:mediamtx video', 'a=ssrc:1019 mslabel:mediamtx', 'a=msid:mediamtx video',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'a=ssrc:1668 cname:mediamtx', 'a=ssrc:1668 msid:mediamtx audio', 'a=ssrc:1668 mslabel:mediamtx', 'a=msid:mediamtx audio', '',
  ].join('\r\n');

  it('moves the audio track to a stream of its own so video is not held back for lip sync', () => {
    const out = separateAudioStream(answer);
    const [, video, audio] = out.split(/(?=^m=)/m);
    expect(video).to.contain('a=msid:mediamtx video').and.contain('a=ssrc:1019 msid:mediamtx video');
    expect(audio).to.contain('a=msid:mediamtx-audio audio').and.contain('a=ssrc:1668 msid:mediamtx-audio audio').and.contain('a=ssrc:1668 mslabel:mediamtx-audio');
    expect(audio).not.to.match(/msid:mediamtx audio/);
  });

  it('leaves an answer without audio unchanged', () => {
    const videoOnly = answer.split('m=audio')[0]!;
    expect(separateAudioStream(videoOnly)).to.equal(videoOnly);
  });
});
