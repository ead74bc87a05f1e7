// The integration guides' apps in a real browser (issue 17): drives Debian's Chromium through
// playwright-core as one person would, against the three relying parties that
// scripts/integrations-browser.sh started from docs/integrations/ (Apache with mod_auth_openidc,
// the oidc-client-ts single-page app, the Authlib Flask app). Not part of `cargo test`.
//
// Three rounds, one per app: the person signs in to all three (a password at the first, single
// sign-on at the others), each app shows them signed in (Apache only to a coach of the club,
// the Flask app and the SPA after refreshing their tokens), then they sign out at that round's
// app. The other two must end their sessions: Apache and the Flask app when Nyckel's logout
// token reaches them (back-channel), the SPA when its refresh is refused; and Nyckel's own
// session is over. A check that still finds the person signed in is retried for 15 s (the
// logout token is delivered in the background), then fails the run.
//
// Last, a member of the club who is not a coach signs in at Apache and is refused
// (`Require claim org_roles:coach`).
//
// Usage: node integrations-browser.mjs ISSUER EMAIL PASSWORD APACHE_URL FLASK_URL SPA_URL SHOT_DIR MEMBER_EMAIL
import { launchChromium } from './chromium.mjs';

const [issuer, email, password, apacheUrl, flaskUrl, spaUrl, shots, memberEmail] = process.argv.slice(2);
const fail = (m) => { throw new Error(m); };
const step = (m) => console.log(`- ${m}`);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// Nyckel's login form, when Nyckel asks (no session yet); else single sign-on goes straight on.
async function signInIfAsked(page, who = email) {
  const form = page.locator('form[action="/login"]');
  if (page.url().startsWith(issuer) && (await form.count()) > 0) {
    await form.locator('input[name="email"]').fill(who);
    await form.locator('input[name="password"]').fill(password);
    await Promise.all([page.waitForURL((u) => !u.href.startsWith(issuer)), form.locator('button[type="submit"]').first().click()]);
  }
}

// Nyckel's end-session endpoint may ask to confirm; then it sends the browser back to `back`.
async function finishLogout(page, back) {
  await page.waitForURL((u) => u.href.startsWith(back) || u.href.startsWith(issuer));
  if (page.url().startsWith(issuer)) {
    const button = page.getByRole('button', { name: /logga ut|sign out/i });
    if ((await button.count()) > 0) await button.click();
    await page.waitForURL((u) => u.href.startsWith(back), { timeout: 10000 });
  }
}

async function stateText(page) {
  const state = page.locator('#state');
  if ((await state.count()) === 0) return `(no app page: ${page.url()})`;
  for (let i = 0; i < 50 && /^Loading/.test(await state.textContent()); i++) await sleep(100);
  return state.textContent();
}

const apps = {
  apache: {
    name: 'Apache with mod_auth_openidc',
    async login(page) {
      await page.goto(`${apacheUrl}/coach/`);
      await signInIfAsked(page);
      await page.waitForURL((u) => u.href.startsWith(`${apacheUrl}/coach/`));
    },
    async signedIn(page) {
      await page.goto(`${apacheUrl}/coach/`);
      if (!page.url().startsWith(`${apacheUrl}/coach/`)) return false; // sent to Nyckel's login
      const text = await stateText(page);
      if (!text.startsWith(`Signed in as ${email}`)) fail(`Apache: ${text}`);
      const roles = await page.locator('#roles').textContent();
      if (!roles.split(',').includes('coach')) fail(`Apache passed org_roles "${roles}"`);
      const orgs = await page.locator('#orgs').textContent();
      if (orgs !== 'IFK Kalmar') fail(`Apache passed orgs "${orgs}"`);
      return true;
    },
    async logout(page) {
      await page.goto(`${apacheUrl}/coach/`);
      await page.locator('#logout').click();
      await finishLogout(page, `${apacheUrl}/`);
    },
  },
  flask: {
    name: 'Flask with Authlib',
    async login(page) {
      await page.goto(`${flaskUrl}/login`);
      await signInIfAsked(page);
      await page.waitForURL(`${flaskUrl}/`);
    },
    async signedIn(page) {
      await page.goto(`${flaskUrl}/`);
      const text = await stateText(page);
      if (!text.startsWith('Signed in')) return false;
      if (!text.startsWith(`Signed in as ${email}`)) fail(`Flask: ${text}`);
      return true;
    },
    async refresh(page) {
      const before = Number(await page.locator('#refreshed').textContent());
      await page.locator('#refresh').click();
      await page.waitForLoadState();
      const after = Number(await page.locator('#refreshed').textContent());
      if (after !== before + 1) fail(`Flask: refreshed ${before} -> ${after}`);
    },
    async logout(page) {
      await page.goto(`${flaskUrl}/`);
      await page.locator('#logout').click();
      await finishLogout(page, `${flaskUrl}/`);
    },
  },
  spa: {
    name: 'single-page app with oidc-client-ts',
    async login(page) {
      await page.goto(`${spaUrl}/`);
      if ((await stateText(page)).startsWith('Signed in')) return;
      await page.locator('#login').click();
      // To Nyckel and back, by redirects only when single sign-on answers at once.
      for (let i = 0; i < 100; i++) {
        if (page.url().startsWith(issuer)) await signInIfAsked(page);
        else if (/^Signed in/.test(await page.locator('#state').textContent().catch(() => ''))) return;
        await sleep(100);
      }
      fail(`SPA after login: ${await stateText(page)}`);
    },
    // Loading the page renews the tokens with the refresh token (a refused renewal signs out).
    async signedIn(page) {
      await page.goto(`${spaUrl}/`);
      const text = await stateText(page);
      if (!text.startsWith('Signed in')) return false;
      if (!new RegExp(`^Signed in as ${email} \\(renewed [1-9]`).test(text)) fail(`SPA: ${text}`);
      return true;
    },
    async logout(page) {
      await page.goto(`${spaUrl}/`);
      await stateText(page);
      await page.locator('#logout').click();
      await finishLogout(page, `${spaUrl}/`);
    },
  },
};

const browser = await launchChromium();
try {
  const page = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  page.on('pageerror', (e) => console.log(`  (page error: ${e.message})`));
  for (const out of Object.keys(apps)) {
    const others = Object.keys(apps).filter((k) => k !== out);
    step(`signs in to all three apps (a password once, then single sign-on)`);
    for (const key of ['apache', 'flask', 'spa']) await apps[key].login(page);
    for (const [key, app] of Object.entries(apps)) {
      if (!(await app.signedIn(page))) fail(`${app.name} does not show the person signed in`);
      await page.screenshot({ path: `${shots}/${out}-0-${key}-signed-in.png` });
      if (app.refresh) await app.refresh(page);
    }
    step(`signs out at the ${apps[out].name}`);
    await apps[out].logout(page);
    await page.screenshot({ path: `${shots}/${out}-1-signed-out.png` });
    for (const key of [out, ...others]) {
      const app = apps[key];
      let signedIn = true;
      for (let i = 0; i < 30 && signedIn; i++) {
        signedIn = await app.signedIn(page);
        if (signedIn) await sleep(500);
      }
      await page.screenshot({ path: `${shots}/${out}-2-${key}-after.png` });
      if (signedIn) fail(`after signing out at the ${apps[out].name}, the ${app.name} still shows the person signed in`);
      step(`  the ${app.name} has ended its session`);
    }
    await page.goto(`${issuer}/account`);
    if (!new URL(page.url()).pathname.startsWith('/login')) fail(`Nyckel's session is still alive: ${page.url()}`);
  }
  console.log('a logout at each app ended the sessions of the other two and of Nyckel');

  step('a member who is not a coach signs in at Apache and is refused');
  const member = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  await member.goto(`${apacheUrl}/coach/`);
  let refused = 0;
  member.on('response', (r) => { if (r.url().startsWith(`${apacheUrl}/coach/`) && [401, 403].includes(r.status())) refused = r.status(); });
  await signInIfAsked(member, memberEmail);
  await member.waitForLoadState();
  await member.screenshot({ path: `${shots}/member-refused.png` });
  const text = await member.locator('body').textContent();
  if (!refused || text.includes('Signed in')) fail(`a member without the coach role got: ${refused} ${text.slice(0, 200)}`);
  console.log(`Apache refused the member with ${refused}`);
} finally {
  await browser.close();
}
