// Text from the API (a block's reason, an error message echoing a request) is a caller's text. Printed raw to a
// terminal, a newline or NUL forges table rows and a bidi override (U+202E) reorders what the operator reads, so
// every human output escapes control, format and line-separator characters, and backslashes so that the
// escapes are unambiguous. --json output is JSON, which needs none of this.

const UNSAFE = /[\\\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const SHORT: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(ch: string): string {
  const short = SHORT[ch];
  if (short) return short;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/** `text` with every character that could move the cursor, end a line or reorder text shown as an escape. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}
