// The robot's publish credential: short-lived, issued by the relay to the connected robot over its
// relay link (protocol/relay.ts PublishCredentialMsg) and renewed at half its life while the link
// is up. The robot puts it in its RTSP URLs instead of its long-lived password, so what crosses the
// media path can neither log into the relay as the robot nor outlive its expiry.
//
// It is stateless (an HMAC), so any relay that shares MEDIAMTX_AUTH_SECRET can check it whichever
// relay issued it (several relays behind Redis), and it names the robot record's generation
// (createdAt): registering the robot again makes every credential it had worthless at once.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PUBLISH_CREDENTIAL_PATTERN, type PublishCredentialMsg } from '../../protocol/relay.ts';
import type { Store } from './store.ts';

const PREFIX = 'hp_';
const EXP_HEX = 12;
const NONCE_HEX = 16;

export class PublishCredentials {
  private readonly key: Buffer;

  constructor(
    private readonly store: Store,
    /** How long one credential opens new media sessions (a session it opened runs on). */
    readonly ttlMs: number,
    /** The hook's shared secret; without one a per-process key (the hook then refuses all anyway). */
    secret: string | undefined,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.key = createHmac('sha256', secret ?? randomBytes(32)).update('havatar publish credential v1').digest();
  }

  /** A fresh credential for a registered robot, or null when it is not (any more). */
  async issue(robot: string): Promise<PublishCredentialMsg | null> {
    const rec = await this.store.getRobot(robot);
    if (!rec) return null;
    const expiresAt = this.now() + this.ttlMs;
    const body = expiresAt.toString(16).padStart(EXP_HEX, '0') + randomBytes(NONCE_HEX / 2).toString('hex');
    return { v: 1, type: 'publish_credential', user: robot, password: PREFIX + body + this.mac(robot, rec.createdAt, body), expiresAt };
  }

  /** True for a credential this relay family issued to `robot`, not expired, of its current record. */
  async verify(robot: string, user: string | undefined, password: string): Promise<boolean> {
    if (user !== robot || !PUBLISH_CREDENTIAL_PATTERN.test(password)) return false;
    const body = password.slice(PREFIX.length, PREFIX.length + EXP_HEX + NONCE_HEX);
    const given = password.slice(PREFIX.length + EXP_HEX + NONCE_HEX);
    const expiresAt = parseInt(body.slice(0, EXP_HEX), 16);
    if (!(expiresAt > this.now())) return false;
    const rec = await this.store.getRobot(robot);
    if (!rec) return false;
    const want = Buffer.from(this.mac(robot, rec.createdAt, body));
    return want.length === given.length && timingSafeEqual(want, Buffer.from(given));
  }

  /**
   * Sends the robot a credential now and a fresh one at half the life of each, until the returned
   * stop is called (its socket closed). A failed issue (the store away) is retried at the next turn.
   */
  attach(robot: string, send: (m: PublishCredentialMsg) => void, onError: (err: unknown) => void): () => void {
    let stopped = false;
    const give = () => void this.issue(robot).then((m) => { if (m && !stopped) send(m); }, onError);
    give();
    const timer = setInterval(give, Math.max(1000, Math.floor(this.ttlMs / 2)));
    timer.unref();
    return () => { stopped = true; clearInterval(timer); };
  }

  private mac(robot: string, generation: number, body: string): string {
    return createHmac('sha256', this.key).update(`${robot}\n${generation}\n${body}`).digest('base64url');
  }
}

/** Whether a secret MediaMTX passed on is shaped like a publish credential (checked no other way). */
export const isPublishCredential = (secret: string): boolean => secret.startsWith(PREFIX);
