// Debian's Chromium through playwright-core, started as every browser check here needs it on
// these machines: headless, no sandbox (CI runs as root), and no background connections (the
// closed network refuses them). Shared by the scripts/*-browser.mjs checks.
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
