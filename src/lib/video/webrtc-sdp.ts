// The pure parts of WHEP/WHIP (RFC 9725 / draft-ietf-wish-whep): ICE servers from `Link`
// headers, the offer's ICE credentials and media lines, and the trickle-ICE SDP fragment sent with
// PATCH. No DOM, no network: unit-tested in webrtc-sdp.test.ts.

export interface OfferData {
  iceUfrag: string;
  icePwd: string;
  /** Each media section's `m=` line (without `m=`), in order: the index is the sdpMLineIndex. */
  medias: string[];
}

/** A local ICE candidate as RTCPeerConnection reports it (only the fields the fragment needs). */
export interface CandidateLike {
  candidate: string;
  sdpMLineIndex: number | null;
}

/** `Link: <stun:…>; rel="ice-server", <turn:…>; rel="ice-server"; username="u"; credential="c"; credential-type="password"`. */
export function parseIceServers(link: string | null): RTCIceServer[] {
  if (!link) return [];
  const out: RTCIceServer[] = [];
  // Split on commas that start a new <url> (a quoted credential may itself hold commas).
  for (const part of link.split(/,\s*(?=<)/)) {
    const m = /^\s*<([^>]+)>(.*)$/.exec(part);
    if (!m) continue;
    const params = new Map<string, string>();
    for (const p of m[2]!.matchAll(/;\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,\s]*))/g)) {
      params.set(p[1]!.toLowerCase(), (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1'));
    }
    if (params.get('rel') !== 'ice-server') continue;
    const server: RTCIceServer = { urls: [m[1]!] };
    const username = params.get('username');
    const credential = params.get('credential');
    if (username !== undefined) server.username = username;
    if (credential !== undefined) server.credential = credential;
    out.push(server);
  }
  return out;
}

/** ICE ufrag/pwd (session- or media-level; the first wins) and the media lines of an offer. */
export function parseOffer(sdp: string): OfferData {
  const data: OfferData = { iceUfrag: '', icePwd: '', medias: [] };
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) data.medias.push(line.slice(2));
    else if (!data.iceUfrag && line.startsWith('a=ice-ufrag:')) data.iceUfrag = line.slice('a=ice-ufrag:'.length);
    else if (!data.icePwd && line.startsWith('a=ice-pwd:')) data.icePwd = line.slice('a=ice-pwd:'.length);
  }
  return data;
}

/**
 * The body of a trickle-ICE PATCH (`Content-Type: application/trickle-ice-sdpfrag`): the offer's
 * credentials, then for every media section that has candidates its `m=` line, `a=mid:<index>`
 * and one `a=candidate` line each. Candidates without a media index are dropped (none are useful).
 */
export function sdpFragment(offer: OfferData, candidates: readonly CandidateLike[]): string {
  const byMedia = new Map<number, string[]>();
  for (const c of candidates) {
    if (c.sdpMLineIndex === null || c.sdpMLineIndex < 0 || c.sdpMLineIndex >= offer.medias.length || !c.candidate) continue;
    const list = byMedia.get(c.sdpMLineIndex) ?? [];
    list.push(c.candidate);
    byMedia.set(c.sdpMLineIndex, list);
  }
  let frag = `a=ice-ufrag:${offer.iceUfrag}\r\na=ice-pwd:${offer.icePwd}\r\n`;
  for (const [index, media] of offer.medias.entries()) {
    const list = byMedia.get(index);
    if (!list) continue;
    frag += `m=${media}\r\na=mid:${index}\r\n`;
    for (const c of list) frag += `a=${c.replace(/^a=/, '')}\r\n`;
  }
  return frag;
}

/** True when an SDP offers (or answers with) H.264 video: MediaMTX refuses offers without it. */
export function hasH264(sdp: string): boolean {
  return /^a=rtpmap:\d+ H264\//im.test(sdp);
}

/** Resolves a `Location` header (often relative, `/robots/x/whep/<uuid>`) against the WHEP URL. */
export function sessionUrl(location: string | null, endpoint: string): string | null {
  if (!location) return null;
  try {
    return new URL(location, endpoint).href;
  } catch {
    return null;
  }
}

/** Appends `?token=` (MediaMTX also reads the query) without disturbing an existing query. */
export function withToken(url: string, token: string): string {
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.href;
}

/**
 * Gives the answer's audio its own media stream id. Browsers hold video back to keep it in step
 * with the audio of the same stream (lip sync), and the robot's audio path is the slower one: for
 * driving, the picture must not wait for the sound. Only `msid`/`mslabel` of the audio section change.
 */
export function separateAudioStream(sdp: string): string {
  const sections = sdp.split(/(?=^m=)/m);
  return sections
    .map((section) => {
      if (!section.startsWith('m=audio')) return section;
      return section
        .replace(/^(a=msid:)(\S+)( .*)?$/gm, (_m, a: string, id: string, rest: string | undefined) => `${a}${id}-audio${rest ?? ''}`)
        .replace(/^(a=ssrc:\d+ msid:)(\S+)/gm, (_m, a: string, id: string) => `${a}${id}-audio`)
        .replace(/^(a=ssrc:\d+ mslabel:)(\S+)/gm, (_m, a: string, id: string) => `${a}${id}-audio`);
    })
    .join('');
}
