// The single-page app of the oidc-client-ts guide (../spa.md): a public client with PKCE that
// keeps its session alive with refresh tokens and learns that the person's Nyckel session
// ended when a refresh is refused.
//
// Why not front-channel logout or a silent iframe: browsers partition or block third-party
// storage and cookies, so a page of this app loaded in Nyckel's logged-out page cannot clear
// the app's own storage, and an iframe to Nyckel gets no session cookie (docs/claims.md).
// Nyckel revokes every refresh token of a session when it ends, so the next refresh says so.
'use strict';

const show = (text, ...buttons) => {
  document.getElementById('state').textContent = text;
  for (const b of ['login', 'renew', 'logout']) document.getElementById(b).hidden = !buttons.includes(b);
};

async function main() {
  // config.json: {"authority": "<Nyckel's issuer>", "client_id": "<from nyckel client create --public>"}
  const config = await (await fetch('config.json', { cache: 'no-store' })).json();
  const here = `${location.origin}${location.pathname}`;
  const users = new oidc.UserManager({
    authority: config.authority,
    client_id: config.client_id,
    redirect_uri: here,
    post_logout_redirect_uri: here,
    scope: 'openid email profile orgs',
    // Tokens survive a reload of the page; sessionStorage would end them with the tab.
    userStore: new oidc.WebStorageStateStore({ store: window.localStorage }),
    // Renews with the refresh token shortly before the access token expires.
    automaticSilentRenew: true,
  });

  // The person's Nyckel session ended (logout elsewhere, a password reset, an admin): the
  // refresh token is revoked, the renewal fails, and the app forgets the person.
  users.events.addSilentRenewError(async () => {
    await users.removeUser();
    show('Signed out: your session at Nyckel has ended.', 'login');
  });

  document.getElementById('login').onclick = () => users.signinRedirect();
  document.getElementById('logout').onclick = () => users.signoutRedirect();
  document.getElementById('renew').onclick = () => renew(users);

  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) {
    try {
      await users.signinRedirectCallback();
    } catch (e) {
      show(`Sign-in failed: ${e.message}`, 'login');
      return;
    }
    history.replaceState(null, '', here);
    signedIn(await users.getUser(), 0);
    return;
  }
  if (!(await users.getUser())) {
    show('Not signed in.', 'login');
    return;
  }
  // Back on the page with tokens from earlier: check that the session is still alive.
  await renew(users);
}

let renewals = 0;

async function renew(users) {
  try {
    const user = await users.signinSilent(); // a refresh_token grant, rotated by Nyckel
    renewals += 1;
    signedIn(user, renewals);
  } catch {
    await users.removeUser();
    show('Signed out: your session at Nyckel has ended.', 'login');
  }
}

function signedIn(user, renewed) {
  show(`Signed in as ${user.profile.email} (renewed ${renewed} times)`, 'renew', 'logout');
}

main().catch((e) => show(`Error: ${e.message}`, 'login'));
