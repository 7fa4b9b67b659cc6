/**
 * User text quoted in an error message: control characters escaped (an ANSI escape or a newline
 * in a value must not reach the terminal as itself) and long values cut, so a 3 MB value is not
 * echoed whole.
 */

/** Longest part of a value an error message echoes. */
export const MAX_ECHOED = 80;

/** C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `text` with control characters escaped, cut to `max` characters: `abc… (2,999,997 more characters)`. */
export function shown(text: string, max = MAX_ECHOED): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const more = text.length - cut.length;
  return escapeControl(cut) + (more > 0 ? `… (${more.toLocaleString('en-US')} more characters)` : '');
}

/** A value as JSON (strings in double quotes), escaped and cut like `shown`. */
export function quoted(value: unknown, max = MAX_ECHOED): string {
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  if (json.length <= max + 2) return escapeControl(json);
  return shown(json, max);
}

/**
 * A whole message with every control character but the line break escaped: the last guard
 * before text reaches a terminal.
 */
export function printable(message: string): string {
  return message.split('\n').map(escapeControl).join('\n');
}

/** Longest line of an error message; a longer one quotes a value no site cut. */
export const MAX_MESSAGE_LINE = 1000;

/**
 * A message with each line cut to MAX_MESSAGE_LINE characters and its control characters escaped:
 * what the input error types apply to every message, so that a value quoted whole by a check that
 * did not cut it stays bounded.
 */
export function boundedMessage(message: string): string {
  return message.split('\n').map((line) => shown(line, MAX_MESSAGE_LINE)).join('\n');
}
