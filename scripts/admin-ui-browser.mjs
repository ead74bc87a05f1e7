// Real-browser check of the admin web UI: drives Debian's Chromium (through playwright-core)
// the way an organisation admin would, in Swedish, and checks what the pages show. Used by
// scripts/admin-ui-browser.sh; not part of `cargo test` (it needs Chromium and Node.js).
//
// Usage: node admin-ui-browser.mjs BASE_URL ADMIN_EMAIL PASSWORD ORG_SLUG MEMBER_EMAIL SHOT_DIR OUTBOX_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { launchChromium } from './chromium.mjs';
import { smsCode } from './outbox.mjs';

const [base, email, password, org, memberEmail, shots, outbox] = process.argv.slice(2);
const invited = 'nya.medlemmen@example.org';
const problems = [];
const fail = (m) => { throw new Error(m); };

// The invitation link mailed to `to`, read from the development outbox (.eml files, text in
// quoted-printable): the server delivers a message as soon as it is queued.
async function mailedLink(to, path) {
  for (let i = 0; i < 100; i++) {
    for (const f of readdirSync(outbox, { withFileTypes: true })) {
      if (!f.name.endsWith('.eml')) continue;
      const raw = readFileSync(`${outbox}/${f.name}`, 'latin1').replace(/=\r\n/g, '');
      if (!raw.includes(`To: ${to}`)) continue;
      const link = raw.match(new RegExp(`https?://[^\\s"<>]+${path}[A-Za-z0-9_-]+`));
      if (link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`no ${path} link mailed to ${to} in ${outbox}`);
}

const browser = await launchChromium();
try {
  const context = await browser.newContext({ locale: 'sv-SE', viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
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
  const step = (m) => console.log(`- ${m}`);
  const tabs = page.getByRole('navigation', { name: 'Organisation' });
  const notice = page.getByRole('status');
  const expectUrl = (suffix) => {
    if (!new URL(page.url()).pathname.endsWith(suffix)) fail(`expected to be at …${suffix}, am at ${page.url()}`);
  };

  // Anonymous: the admin pages send the browser to the login page, which comes back here.
  await page.goto(`${base}/admin`);
  if (!page.url().includes('/login?next=')) fail(`not sent to the login page: ${page.url()}`);
  await page.getByLabel('E-postadress', { exact: true }).fill(email);
  await page.getByLabel('Lösenord').fill(password);
  await page.getByRole('button', { name: 'Logga in' }).click();

  // An admin without a second factor is asked to add one before any admin page: a mobile
  // number, confirmed with the code sent to it, which also finishes this login.
  await page.waitForURL('**/login/second');
  await page.getByRole('heading', { level: 1, name: 'Lägg till en andra faktor' }).waitFor();
  await page.getByText('Du är administratör i Skogsbackens IF').waitFor();
  await page.screenshot({ path: `${shots}/0-second-factor-asked.png`, fullPage: true });
  const mobile = '+46701234599';
  await page.getByLabel('Mobilnummer').fill('070-123 45 99');
  await page.getByRole('button', { name: 'Skicka en kod' }).click();
  await page.getByLabel('Koden från sms:et').fill(await smsCode(outbox, mobile));
  await page.getByRole('button', { name: 'Fortsätt' }).click();
  await page.waitForURL(`**/admin/orgs/${org}/members`);
  step('signed in with a password and a newly added SMS second factor; the only organisation opened at once');

  // The member list, with search.
  await page.getByRole('heading', { level: 1, name: 'Medlemmar' }).waitFor();
  const rows = page.locator('table.list tbody tr');
  if ((await rows.count()) < 4) fail(`expected at least 4 members, saw ${await rows.count()}`);
  await page.screenshot({ path: `${shots}/1-member-list.png`, fullPage: true });
  await page.getByLabel('Sök på namn eller e-post').fill('karin');
  await page.getByRole('button', { name: 'Sök' }).click();
  await page.waitForURL('**/members?q=karin');
  if ((await rows.count()) !== 1) fail(`search for karin: ${await rows.count()} rows`);
  step('member list and search');

  // The organisation's roles: add "coach".
  await tabs.getByRole('link', { name: 'Roller' }).click();
  await page.getByLabel('Namn', { exact: true }).fill('coach');
  await page.getByLabel('Beskrivning').fill('Tränare för ett lag');
  await page.getByRole('button', { name: 'Lägg till roll' }).click();
  await notice.waitFor();
  expectUrl('/roles');
  await page.getByRole('cell', { name: 'Tränare för ett lag' }).waitFor();
  step('role coach added');

  // Invite a person by email.
  await tabs.getByRole('link', { name: 'Inbjudningar' }).click();
  await page.getByLabel('E-postadress', { exact: true }).fill(invited);
  await page.getByRole('checkbox', { name: /^coach/ }).check();
  await page.getByRole('button', { name: 'Skicka inbjudan' }).click();
  await notice.waitFor();
  if (!(await notice.innerText()).includes('Inbjudan har skickats')) fail(`after inviting: ${await notice.innerText()}`);
  await page.getByRole('rowheader', { name: invited }).waitFor();
  await page.screenshot({ path: `${shots}/2-invitations.png`, fullPage: true });
  step(`invited ${invited}`);

  // Change a member's roles in the role editor.
  await tabs.getByRole('link', { name: 'Medlemmar' }).click();
  await page.getByRole('link', { name: 'Karin Berg' }).click();
  await page.getByRole('heading', { level: 1, name: 'Karin Berg' }).waitFor();
  const coach = page.getByRole('checkbox', { name: /^coach/ });
  await coach.check();
  await page.getByRole('button', { name: 'Spara roller' }).click();
  await notice.waitFor();
  if (!(await page.getByRole('checkbox', { name: /^coach/ }).isChecked())) fail('coach is not ticked after saving');
  await page.getByRole('group', { name: /Roller i/ }).focus().catch(() => {});
  await page.screenshot({ path: `${shots}/3-role-editor.png`, fullPage: true });
  step(`${memberEmail} is now coach`);

  // The audit log shows both events.
  await tabs.getByRole('link', { name: 'Händelselogg' }).click();
  await page.getByRole('heading', { level: 1, name: 'Händelselogg' }).waitFor();
  const text = await page.locator('main').innerText();
  for (const kind of ['admin.invitation_created', 'admin.roles_changed']) {
    if (!text.includes(kind)) fail(`the audit log does not show ${kind}`);
  }
  if (!text.includes(invited)) fail('the audit log does not name the invited address');
  await page.screenshot({ path: `${shots}/4-audit-log.png`, fullPage: true });
  await page.getByLabel('Visa händelser av typen').selectOption('admin.roles_changed');
  await page.getByRole('button', { name: 'Visa', exact: true }).click();
  await page.waitForURL('**/audit?kind=admin.roles_changed');
  const filtered = await page.locator('main').innerText();
  if (filtered.includes('admin.invitation_created')) fail('the kind filter let other events through');
  step('audit log shows the invitation and the role change; the filter works');

  // The invited person opens the mailed link in their own browser and joins.
  const link = await mailedLink(invited, '/invite/');
  const guest = await (await browser.newContext({ locale: 'sv-SE', viewport: { width: 1280, height: 860 } })).newPage();
  guest.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} for ${r.url()}`);
  });
  await guest.goto(link);
  await guest.getByRole('heading', { level: 1, name: /Du är inbjuden till/ }).waitFor();
  await guest.screenshot({ path: `${shots}/6-invitation.png`, fullPage: true });
  await guest.getByLabel('Ditt namn').fill('Nora Nyberg');
  await guest.getByLabel('Välj ett lösenord').fill('en lång och hemlig mening 7');
  await guest.getByRole('button', { name: 'Skapa konto och gå med' }).click();
  await guest.getByRole('heading', { level: 1, name: /Du är nu medlem i/ }).waitFor();
  await tabs.getByRole('link', { name: 'Medlemmar' }).click();
  await page.getByRole('link', { name: 'Nora Nyberg' }).waitFor();
  await tabs.getByRole('link', { name: 'Inbjudningar' }).click();
  await page.getByText('Accepterad').waitFor();
  step('the invited person accepted through the mailed link and is a member');

  // The same member list on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await tabs.getByRole('link', { name: 'Medlemmar' }).click();
  await page.screenshot({ path: `${shots}/5-member-list-phone.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`the member list is ${overflow}px wider than a phone screen`);
  step('member list fits a phone screen');

  if (problems.length) fail(problems.join('\n'));
  console.log('admin UI in Chromium: ok');
} catch (e) {
  console.error(`admin UI in Chromium FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
