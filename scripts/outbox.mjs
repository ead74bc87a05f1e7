// The development outbox (files in <data_dir>/outbox) as the browser scripts read it: what
// Nyckel "sent" by SMS, the way a person reads it off their phone.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

// The code in the newest SMS to `to` (`.sms` files: a `To:` line, a blank line, the text; a
// code is 6 to 8 digits, maybe split by one space). Waits up to 10 s: delivery is queued.
export async function smsCode(outbox, to) {
  for (let i = 0; i < 100; i++) {
    const files = !existsSync(outbox) ? [] : readdirSync(outbox).filter((f) => f.endsWith('.sms')).sort().reverse();
    for (const f of files) {
      const raw = readFileSync(`${outbox}/${f}`, 'utf8');
      if (!raw.startsWith(`To: ${to}\n`)) continue;
      const code = raw.split('\n\n').slice(1).join('\n').match(/\b\d{3,4} ?\d{3,4}\b/);
      if (code) return code[0].replace(' ', '');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no code sent by SMS to ${to} in ${outbox}`);
}
