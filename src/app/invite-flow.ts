// An invite link, from the address bar to a session: the link's server is checked first, and one
// other than the server in use is redeemed only after the operator confirms it (a crafted link
// could otherwise send the session, the talk audio and the drive commands to a stranger's server).
// Until then nothing at all goes to that server; declining leaves the settings as they were.

import { inviteServerOrigin, serverNeedsConfirm } from '../lib/storage/invite-from-url.ts';
import { InviteConfirm, type InviteDecision } from './invite-confirm.ts';
import { acceptInvite, type AppServices } from './services.ts';

export interface ServerQuestion { server: string; current: string }
/** Resolves with the operator's answer; true means connect. */
export type ConfirmServer = (q: ServerQuestion) => Promise<boolean>;

export type InviteOutcome = 'accepted' | 'declined' | 'failed';

/** Asks with an `<hv-invite-confirm>` over the page; removed again once answered. */
export const confirmInDocument: ConfirmServer = (q) =>
  new Promise((resolve) => {
    const dialog = new InviteConfirm();
    dialog.server = q.server;
    dialog.current = q.current;
    dialog.addEventListener('invite-decision', (e) => {
      dialog.remove();
      resolve((e as CustomEvent<InviteDecision>).detail.accept);
    }, { once: true });
    document.body.append(dialog);
  });

export interface InviteLinkOptions {
  confirm?: ConfirmServer;
  /** The origin that served this app (default: the page's). */
  pageOrigin?: string;
  fetchImpl?: typeof fetch;
}

/** Redeems an invite from a link, asking first when its server is not the one in use. */
export async function redeemInviteLink(s: AppServices, invite: { invite: string; server: string }, opts: InviteLinkOptions = {}): Promise<InviteOutcome> {
  const origin = inviteServerOrigin(invite.server);
  if (!origin) {
    s.inviteError = 'Invite link not accepted: its server is not an http(s) address.';
    s.log.add(s.inviteError);
    return 'failed';
  }
  const current = s.settings.value.serverUrl;
  if (serverNeedsConfirm(origin, current, opts.pageOrigin ?? location.origin)) {
    const accepted = await (opts.confirm ?? confirmInDocument)({ server: origin, current });
    if (!accepted) {
      s.log.add(`Invite for ${new URL(origin).host} declined: nothing was sent there, settings unchanged.`);
      return 'declined';
    }
  }
  return (await acceptInvite(s, invite, opts.fetchImpl)) ? 'accepted' : 'failed';
}
