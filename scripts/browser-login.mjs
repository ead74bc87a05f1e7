// Real-browser login check: drives Debian's Chromium (through playwright-core) through the
// login page of a running Nyckel, the way a person would, and prints where the browser ends up.
// Used by scripts/browser-login.sh; not part of `cargo test` (it needs Chromium and Node.js).
//
// Usage: node browser-login.mjs AUTHORIZE_URL EMAIL PASSWORD CALLBACK_PREFIX SCREENSHOT_DIR
import { chromium } from 'playwright-core';

const [authorizeUrl, email, password, callbackPrefix, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: process.env.LOCALE || 'sv-SE' });
  const page = await context.newPage();
  const external = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['localhost', '127.0.0.1'].includes(u.hostname)) external.push(r.url());
  });
  await page.goto(authorizeUrl);
  await page.screenshot({ path: `${shots}/1-login.png` });
  await page.getByLabel(/e-post|email/i).fill(email);
  await page.getByLabel(/lösenord|password/i).fill(password);
  const landed = page.waitForRequest((r) => r.url().startsWith(callbackPrefix), { timeout: 20000 });
  await page.getByRole('button', { name: /logga in|sign in/i }).click();
  await page.waitForLoadState();
  await page.screenshot({ path: `${shots}/2-after-login.png` });
  const allow = page.getByRole('button', { name: /^(tillåt|allow)$/i });
  if (await allow.count()) {
    await allow.click();
  }
  const req = await landed;
  console.log(`CALLBACK ${req.url()}`);
  if (external.length) {
    console.log(`EXTERNAL ${external.join(' ')}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
}
