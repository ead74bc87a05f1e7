// The development outbox (files in <data_dir>/outbox) as the browser scripts read it: what
// Nyckel "sent" by SMS, the way a person reads it off their phone.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

// Messages already read: each call reads a message it has not read before, so two codes
// sent to one number within the same second (file names start with the second) are not
// mixed up.
const read = new Set();

// The code in the newest unread SMS to `to` (`.sms` files: a `To:` line, a blank line, the
// text; a code is 6 to 8 digits, maybe split by one space). Waits up to 10 s: delivery is
// queued.
export async function smsCode(outbox, to) {
  for (let i = 0; i < 100; i++) {
    const files = !existsSync(outbox) ? [] : readdirSync(outbox)
      .filter((f) => f.endsWith('.sms') && !read.has(f))
      .map((f) => ({ f, at: statSync(`${outbox}/${f}`).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const { f } of files) {
      const raw = readFileSync(`${outbox}/${f}`, 'utf8');
      if (!raw.startsWith(`To: ${to}\n`)) continue;
      const code = raw.split('\n\n').slice(1).join('\n').match(/\b\d{3,4} ?\d{3,4}\b/);
      if (code) {
        read.add(f);
        return code[0].replace(' ', '');
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no new code sent by SMS to ${to} in ${outbox}`);
}
