// Real-browser check of logout reaching every app (front- and back-channel logout): drives
// Debian's Chromium (through playwright-core) as a person would. Used by
// scripts/logout-browser.sh; not part of `cargo test` (it needs Chromium and Node.js).
//
// Usage: node logout-browser.mjs BASE_URL EMAIL PASSWORD CLIENT_A PORT_A CLIENT_B PORT_B SHOT_DIR
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { launchChromium } from './chromium.mjs';

const [base, email, password, clientA, portA, clientB, portB, shots] = process.argv.slice(2);
const problems = [];
const fail = (m) => { throw new Error(m); };
const step = (m) => console.log(`- ${m}`);

// An app: its redirect URI keeps the code, its front-channel page records `iss` and `sid`, its
// back-channel endpoint records the `sid` of every logout token (not verified here: the Rust
// tests verify tokens; this run is about what the browser does).
function startApp(name, port) {
  const app = { name, codes: [], frontChannel: [], backChannel: [], byes: [] };
  const server = createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    const page = (body) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>${name}</title>${body}`);
    };
    if (url.pathname === '/cb') {
      app.codes.push(url.searchParams.get('code'));
      page(`<h1>${name}</h1><p>Inloggad.</p>`);
    } else if (url.pathname === '/fc') {
      app.frontChannel.push({ iss: url.searchParams.get('iss'), sid: url.searchParams.get('sid') });
      page('<p>Utloggad.</p>');
    } else if (url.pathname === '/bye') {
      app.byes.push(url.searchParams.get('state'));
      page(`<h1>${name}</h1><p>Du är utloggad.</p>`);
    } else if (url.pathname === '/bc' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token') || '';
        const claims = JSON.parse(Buffer.from(token.split('.')[1] || '', 'base64url').toString() || '{}');
        app.backChannel.push(claims.sid);
        res.writeHead(200).end();
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(Number(port), '127.0.0.1', () => ok({ app, server })));
}

function authorizeUrl(clientId, port) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: `http://127.0.0.1:${port}/cb`,
    scope: 'openid email', state: 's1', nonce: 'n1', code_challenge: challenge, code_challenge_method: 'S256',
  });
  return `${base}/authorize?${q}`;
}

const { app: a, server: serverA } = await startApp('Kalendern', portA);
const { app: b, server: serverB } = await startApp('Klubbsidan', portB);
const browser = await launchChromium();
try {
  const page = await (await browser.newContext({ locale: 'sv-SE' })).newPage();
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['localhost', '127.0.0.1'].includes(u.hostname)) problems.push(`request to another origin: ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  step('signs in to Kalendern with a password');
  await page.goto(authorizeUrl(clientA, portA));
  const form = page.locator('form[action="/login"]');
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="password"]').fill(password);
  await Promise.all([
    page.waitForURL(`http://127.0.0.1:${portA}/cb**`),
    form.locator('button[type="submit"]').first().click(),
  ]);
  if (a.codes.length !== 1) fail(`Kalendern got ${a.codes.length} codes`);
  step('is signed in to Klubbsidan at once (single sign-on)');
  await page.goto(authorizeUrl(clientB, portB));
  await page.waitForURL(`http://127.0.0.1:${portB}/cb**`);
  if (b.codes.length !== 1) fail(`Klubbsidan got ${b.codes.length} codes`);

  step('signs out through Kalendern (RP-initiated logout, confirmed on Nyckel\'s page)');
  const q = new URLSearchParams({
    client_id: clientA, post_logout_redirect_uri: `http://127.0.0.1:${portA}/bye`, state: 'bye-1',
  });
  await page.goto(`${base}/logout?${q}`);
  await page.screenshot({ path: `${shots}/1-confirm.png` });
  const frames = page.waitForRequest((r) => r.url().startsWith(`http://127.0.0.1:${portB}/fc`));
  await page.getByRole('button', { name: /logga ut|sign out/i }).click();
  await frames;
  await page.screenshot({ path: `${shots}/2-signed-out.png` });
  step('the signed-out page loads both apps\' front-channel pages, then goes on to Kalendern');
  await page.waitForURL(`http://127.0.0.1:${portA}/bye?state=bye-1`, { timeout: 10000 });
  await page.screenshot({ path: `${shots}/3-back-at-the-app.png` });
  for (const app of [a, b]) {
    if (app.frontChannel.length !== 1) fail(`${app.name}: ${app.frontChannel.length} front-channel loads`);
    const { iss, sid } = app.frontChannel[0];
    if (iss !== base || !sid) fail(`${app.name}: front-channel page got iss=${iss} sid=${sid}`);
  }
  const sid = a.frontChannel[0].sid;
  if (b.frontChannel[0].sid !== sid) fail('the two apps were given different sids');

  step('both apps get a logout token for that session by back-channel');
  for (let i = 0; i < 100 && (a.backChannel.length < 1 || b.backChannel.length < 1); i++) {
    await new Promise((ok) => setTimeout(ok, 200));
  }
  for (const app of [a, b]) {
    if (JSON.stringify(app.backChannel) !== JSON.stringify([sid])) {
      fail(`${app.name}: back-channel sids ${JSON.stringify(app.backChannel)}, expected [${sid}]`);
    }
  }
  step('Nyckel\'s session is over: a new authorization asks for a login');
  await page.goto(authorizeUrl(clientB, portB));
  if (!new URL(page.url()).pathname.startsWith('/login')) fail(`not asked to log in: ${page.url()}`);
  if (problems.length) fail(`problems:\n${problems.join('\n')}`);
  console.log('logout reached both apps (front-channel and back-channel)');
} finally {
  await browser.close();
  serverA.close();
  serverB.close();
}
