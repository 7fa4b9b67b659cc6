/**
 * Comments in rendered rulesets: what a set, map, chain or element is for, in the model's words
 * (`stack web`, `calico profile WEB`, an endpoint's name). They carry user text, so the renderers
 * pass every comment through `commentText`, and the guards accept only what it can produce:
 * printable ASCII without a quote, backslash, `#`, `$`, braces or line break (nothing that could
 * end the string or the line, open a block or start a shell word), at most 128 characters (nft's
 * limit for comments). A comment never holds `netpol:`, the prefix of the content-hash comment.
 */

export const COMMENT_MAX = 128;
const SAFE = "A-Za-z0-9 _.,:;/=!<>()[\\]@+*'&|~%^?-";
const UNSAFE = new RegExp(`[^${SAFE}]`, 'g');
/** What `commentText` returns, and all that the guards accept inside a comment's quotes. */
export const COMMENT_TEXT = new RegExp(`^(?!.*netpol:)[${SAFE}]{0,${COMMENT_MAX}}$`);

/**
 * `text` made safe to print between double quotes: unsafe characters become `?`, whitespace one
 * space, cut to `max` characters (a `#` line of the rendered text may be longer than a comment).
 */
export function commentText(text: string, max = COMMENT_MAX): string {
  const safe = text.replace(/\s+/g, ' ').trim().replace(UNSAFE, '?').replace(/netpol:/g, 'netpol?');
  return safe.length <= max ? safe : `${safe.slice(0, max - 3)}...`;
}

/** `1 rule`, `2 rules`. */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
