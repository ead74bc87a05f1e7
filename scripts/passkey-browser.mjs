// Real-browser passkey check: Debian's Chromium (through playwright-core) with a virtual
// WebAuthn authenticator (Chrome DevTools Protocol, user verification on) runs
// /static/passkey.js against a running Nyckel: password login, add a passkey on
// /account/passkeys, sign out, sign in again with the passkey (from the autofill list, with
// the button after typing the email, and with the button alone: discoverable), require two
// factors and sign in with the password and the passkey as the second factor, remove it.
// Used by scripts/passkey-browser.sh; not part of `cargo test` (it needs Chromium and Node.js).
//
// Usage: node passkey-browser.mjs ISSUER EMAIL PASSWORD SCREENSHOT_DIR
import { chromium } from 'playwright-core';

const [issuer, email, password, shots] = process.argv.slice(2);
const fail = (m) => { throw new Error(m); };
const step = (m) => console.log(`- ${m}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ locale: 'sv-SE' });
  const page = await context.newPage();
  const external = [];
  const problems = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['localhost', '127.0.0.1'].includes(u.hostname)) external.push(r.url());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Failed responses are checked below (the browser's own /favicon.ico may 404).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} ${r.url()}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // Password login, coming back to the passkeys page.
  await page.goto(`${issuer}/account/passkeys`);
  if (!page.url().includes('/login?next=')) fail(`not sent to the login page: ${page.url()}`);
  await page.getByLabel('E-postadress', { exact: true }).fill(email);
  await page.getByLabel('Lösenord').fill(password);
  await page.getByRole('button', { name: 'Logga in', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Dina passkeys' }).waitFor();
  await page.screenshot({ path: `${shots}/1-no-passkeys.png`, fullPage: true });

  // Add a passkey.
  await page.getByLabel('Passkeyns namn').fill('Webbläsarens nyckel');
  await page.getByRole('button', { name: 'Lägg till en passkey' }).click();
  await page.getByText('Webbläsarens nyckel', { exact: true }).waitFor({ timeout: 15000 });
  await page.screenshot({ path: `${shots}/2-added.png`, fullPage: true });
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  if (credentials.length !== 1) fail(`the authenticator holds ${credentials.length} credentials`);

  // Sign out (forget the cookies). The login page starts a conditional-mediation request
  // (the email field's autofill list); the virtual authenticator answers it at once, as a
  // person picking the passkey from the list would.
  await context.clearCookies();
  await page.goto(`${issuer}/login?next=/account/passkeys`);
  await page.getByRole('heading', { level: 1, name: 'Dina passkeys' }).waitFor({ timeout: 15000 });
  const used = await page.locator('dd').allTextContents();
  if (used.includes('Aldrig')) fail('the passkey login was not recorded as a use');
  await page.screenshot({ path: `${shots}/3-signed-in-from-autofill.png`, fullPage: true });

  // From here on the browser offers no autofill list, so the button is what signs in.
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });

  // The button with the email typed first.
  await context.clearCookies();
  await page.goto(`${issuer}/login?next=/account/passkeys`);
  const button = page.getByRole('button', { name: 'Använd en passkey' });
  await button.waitFor({ state: 'visible' });
  await page.screenshot({ path: `${shots}/4-login.png`, fullPage: true });
  await page.getByLabel('E-postadress', { exact: true }).fill(email);
  await button.click();
  await page.getByRole('heading', { level: 1, name: 'Dina passkeys' }).waitFor({ timeout: 15000 });

  // The button with no email typed: the browser offers its discoverable passkey.
  await context.clearCookies();
  await page.goto(`${issuer}/login?next=/account/passkeys`);
  await page.getByRole('button', { name: 'Använd en passkey' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dina passkeys' }).waitFor({ timeout: 15000 });
  await page.screenshot({ path: `${shots}/5-signed-in-without-email.png`, fullPage: true });

  // The passkey as the second factor: require two factors, then sign in with the password;
  // the second step offers the passkey.
  await page.goto(`${issuer}/account/security`);
  await page.getByRole('button', { name: 'Kräv en andra faktor när jag loggar in' }).click();
  await page.getByText('Du loggar in med två faktorer (ditt eget val).').waitFor();
  await context.clearCookies();
  await page.goto(`${issuer}/login?next=/account/passkeys`);
  await page.getByLabel('E-postadress', { exact: true }).fill(email);
  await page.getByLabel('Lösenord').fill(password);
  await page.getByRole('button', { name: 'Logga in', exact: true }).click();
  await page.waitForURL('**/login/second');
  const second = page.getByRole('button', { name: 'Använd en passkey' });
  await second.waitFor({ state: 'visible' });
  await page.screenshot({ path: `${shots}/6-second-factor.png`, fullPage: true });
  await second.click();
  await page.getByRole('heading', { level: 1, name: 'Dina passkeys' }).waitFor({ timeout: 15000 });
  step('password + passkey as the second factor');

  // Remove it (the two-factor login is fresh).
  await page.getByRole('button', { name: 'Ta bort' }).click();
  await page.getByText('Du har inga passkeys än.').waitFor();
  await page.screenshot({ path: `${shots}/7-removed.png`, fullPage: true });

  if (external.length) fail(`requests to other origins: ${external.join(' ')}`);
  if (problems.length) fail(problems.join('\n'));
  console.log('PASSKEYS OK');
} finally {
  await browser.close();
}
