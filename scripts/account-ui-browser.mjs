// Real-browser check of the person's own account page: drives Debian's Chromium (through
// playwright-core) the way a person would, in Swedish, and checks what the pages show and what
// the token endpoint says afterwards. Used by scripts/account-ui-browser.sh; not part of
// `cargo test` (it needs Chromium and Node.js).
//
// Usage: NYCKEL_CLIENT_SECRET=... node account-ui-browser.mjs BASE_URL EMAIL PASSWORD CLIENT_ID REDIRECT_URI SHOT_DIR OUTBOX_DIR
import { createServer } from 'node:http';
import { launchChromium } from './chromium.mjs';
import { smsCode } from './outbox.mjs';

const [base, email, password, clientId, redirectUri, shots, outbox] = process.argv.slice(2);
const mobile = '+46701234510';
const clientSecret = process.env.NYCKEL_CLIENT_SECRET || '';
const problems = [];
const fail = (m) => { throw new Error(m); };
const step = (m) => console.log(`- ${m}`);

// The app's redirect URI: a tiny callback server on loopback that keeps the code it is sent.
const codes = [];
const callbackUrl = new URL(redirectUri);
const callback = createServer((req, res) => {
  const url = new URL(req.url, redirectUri);
  if (url.pathname === callbackUrl.pathname) {
    if (url.searchParams.get('code')) codes.push(url.searchParams.get('code'));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Kalendern</title><h1>Kalendern</h1><p>Inloggad.</p>');
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => callback.listen(Number(callbackUrl.port), callbackUrl.hostname, ok));

// The token endpoint, as the app calls it (client_secret_basic).
async function tokenRequest(fields) {
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

// Watches a page for requests to other origins, console errors (CSP violations among them),
// failed responses and script errors.
function watch(page) {
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['localhost', '127.0.0.1'].includes(u.hostname)) problems.push(`request to another origin: ${r.url()}`);
  });
  // Failed loads are judged by their responses (the browser asks for /favicon.ico on its own).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return page;
}

const browser = await launchChromium();
try {
  const viewport = { width: 1280, height: 900 };
  // The person's laptop (Swedish) and a second browser elsewhere (English, another browser).
  const laptop = watch(await (await browser.newContext({ locale: 'sv-SE', viewport })).newPage());
  const elsewhere = watch(await (await browser.newContext({
    locale: 'en-GB',
    viewport,
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  })).newPage());
  const expectPath = (page, path) => {
    if (new URL(page.url()).pathname !== path) fail(`expected to be at ${path}, am at ${page.url()}`);
  };

  // Signed out: the account page sends the browser to the login page, which comes back here.
  await laptop.goto(`${base}/account`);
  if (!laptop.url().includes('/login?next=')) fail(`not sent to the login page: ${laptop.url()}`);
  await laptop.getByLabel('E-postadress', { exact: true }).fill(email);
  await laptop.getByLabel('Lösenord').fill(password);
  await laptop.getByRole('button', { name: 'Logga in' }).click();
  // Astrid is an admin: after the password, a code by SMS to her verified number.
  await laptop.waitForURL('**/login/second');
  await laptop.getByRole('button', { name: /^Skicka en kod med sms till/ }).click();
  await laptop.getByLabel('Koden från sms:et').fill(await smsCode(outbox, mobile));
  await laptop.getByRole('button', { name: 'Fortsätt' }).click();
  await laptop.waitForURL('**/account');
  await laptop.getByRole('heading', { level: 1, name: 'Ditt konto' }).waitFor();
  step('signed in on the laptop; back on the account page');

  await elsewhere.goto(`${base}/account`);
  await elsewhere.getByLabel('Email address', { exact: true }).fill(email);
  await elsewhere.getByLabel('Password').fill(password);
  await elsewhere.getByRole('button', { name: 'Sign in', exact: true }).click();
  await elsewhere.waitForURL('**/login/second');
  await elsewhere.getByRole('button', { name: /^Send a code by SMS to/ }).click();
  await elsewhere.getByLabel('Code from the SMS').fill(await smsCode(outbox, mobile));
  await elsewhere.getByRole('button', { name: 'Continue' }).click();
  await elsewhere.waitForURL('**/account');
  await elsewhere.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
  step('signed in in a second browser');

  // The app: a real authorization with consent on the laptop, the code exchanged at /token.
  const authorize = new URL(`${base}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    scope: 'openid email profile', state: 'st-account-ui', nonce: 'n-account-ui',
    // Every client sends PKCE (S256): the RFC 7636 appendix B pair.
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  })) authorize.searchParams.set(k, v);
  await laptop.goto(authorize.toString());
  await laptop.getByRole('heading', { level: 1, name: 'Tillåt åtkomst?' }).waitFor();
  await laptop.getByRole('button', { name: 'Tillåt' }).click();
  await laptop.waitForURL(`${redirectUri}?**`);
  const returned = new URL(laptop.url());
  if (returned.searchParams.get('state') !== 'st-account-ui') fail(`state not returned: ${laptop.url()}`);
  if (codes.length !== 1) fail(`the callback got ${codes.length} codes`);
  const exchanged = await tokenRequest({ grant_type: 'authorization_code', code: codes[0], redirect_uri: redirectUri,
                                          code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' });
  if (exchanged.status !== 200 || !exchanged.body.refresh_token) fail(`code exchange: ${exchanged.status} ${JSON.stringify(exchanged.body.error)}`);
  let refreshToken = exchanged.body.refresh_token;
  step('allowed Kalendern through /authorize and got its tokens');

  // The account page: both sessions, the app, the organisations, the events.
  await laptop.goto(`${base}/account`);
  const main = laptop.locator('main');
  const sessions = laptop.locator('#sessions tbody tr');
  if ((await sessions.count()) !== 2) fail(`expected 2 sessions, saw ${await sessions.count()}`);
  const text = await main.innerText();
  for (const want of ['Den här sessionen', 'Firefox på Windows', 'Kalendern', 'Se din e-postadress',
                      'Skogsbackens IF', 'Sjöstadens kör', 'admin', 'Inloggning',
                      'Hantera dina lösennycklar', 'Inställningar för andra faktor',
                      'Ladda ner mina uppgifter', 'Radera mitt konto']) {
    if (!text.includes(want)) fail(`the account page does not show ${want}`);
  }
  await laptop.screenshot({ path: `${shots}/1-account.png`, fullPage: true });
  step('the account page shows two sessions, the app, both organisations and the events');

  // End the other session: the second browser is signed out.
  await laptop.getByRole('button', { name: /^Avsluta sessionen i Firefox på Windows/ }).click();
  await laptop.waitForURL('**/account?done=session');
  await laptop.getByRole('status').getByText('Sessionen har avslutats').waitFor();
  if ((await sessions.count()) !== 1) fail(`after ending: ${await sessions.count()} sessions`);
  await laptop.screenshot({ path: `${shots}/2-session-ended.png`, fullPage: true });
  await elsewhere.goto(`${base}/account`);
  if (!elsewhere.url().includes('/login?next=')) fail(`the other browser is still signed in: ${elsewhere.url()}`);
  await elsewhere.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  await elsewhere.screenshot({ path: `${shots}/3-other-browser-signed-out.png`, fullPage: true });
  step('ended the other session; that browser is at the login page');

  // The app's refresh token still works (it was made in this session) ...
  const rotated = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (rotated.status !== 200) fail(`refresh before revoking: ${rotated.status} ${JSON.stringify(rotated.body.error)}`);
  refreshToken = rotated.body.refresh_token;

  // ... until the app is revoked.
  await laptop.getByRole('button', { name: 'Återkalla åtkomsten för Kalendern' }).click();
  await laptop.waitForURL('**/account?done=app');
  await laptop.getByRole('status').getByText('Appens åtkomst har återkallats').waitFor();
  if (await laptop.locator('#apps').count()) fail('the app is still listed');
  const refused = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (refused.status !== 400 || refused.body.error !== 'invalid_grant') fail(`refresh after revoking: ${refused.status} ${JSON.stringify(refused.body)}`);
  await laptop.screenshot({ path: `${shots}/4-app-revoked.png`, fullPage: true });
  step('revoked Kalendern; its refresh token gets invalid_grant');

  // The profile: another name, and English from now on.
  await laptop.getByLabel('Namn', { exact: true }).fill('Astrid L. Lindqvist');
  await laptop.getByLabel('Språk').selectOption('en');
  await laptop.getByRole('button', { name: 'Spara profilen' }).click();
  await laptop.waitForURL('**/account?done=profile');
  await laptop.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
  await laptop.getByRole('status').getByText('Your profile has been saved.').waitFor();
  if (await laptop.getByLabel('Name', { exact: true }).inputValue() !== 'Astrid L. Lindqvist') fail('the name was not saved');
  const events = await laptop.locator('#events').innerText();
  for (const want of ['Profile changed', 'App access revoked', 'Sessions ended from the account page']) {
    if (!events.includes(want)) fail(`the events do not list ${want}`);
  }
  await laptop.screenshot({ path: `${shots}/5-profile-english.png`, fullPage: true });
  step('changed the name and the language; the page is in English and lists the events');

  // The same page on a phone.
  await laptop.setViewportSize({ width: 390, height: 844 });
  await laptop.reload();
  await laptop.screenshot({ path: `${shots}/6-account-phone.png`, fullPage: true });
  const overflow = await laptop.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`the account page is ${overflow}px wider than a phone screen`);
  step('the account page fits a phone screen');
  expectPath(laptop, '/account');

  if (problems.length) fail(problems.join('\n'));
  console.log('account page in Chromium: ok');
} catch (e) {
  console.error(`account page in Chromium FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  callback.close();
}
