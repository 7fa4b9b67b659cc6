/**
 * Bounds on text read from users and remote hosts, checked before the text is parsed: how deep
 * YAML/JSON may nest and how large a text may be. A YAML parser recurses once per nesting level,
 * so a few kilobytes of `[[[[…` exhaust the stack (or abort the process) long before any schema
 * sees the document; a scan that only counts is linear and cannot fail that way.
 */

/** Deepest nesting of mappings and lists a model, kubeconfig or expectations file may have. */
export const MAX_NESTING = 64;

/** Where in a text: 1-based line and column. */
export interface TextPosition {
  line: number;
  column: number;
}

/**
 * The first place where YAML or JSON text nests deeper than `limit`, or undefined. Counts flow
 * collections (`[`, `{` outside quotes and comments) and block levels (each deeper indentation,
 * each `- ` of a sequence entry); block scalars (`|`, `>`) are skipped. It is an estimate that
 * errs on the side of more levels, which is fine for a limit far above what real files use.
 */
export function nestingBeyond(text: string, limit = MAX_NESTING): TextPosition | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let blockScalarIndent: number | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    let i = 0;
    if (flow === 0 && quote === undefined) {
      while (i < line.length && line[i] === ' ') i++;
      if (i === line.length || line[i] === '#' || line[i] === '\r') continue;
      if (blockScalarIndent !== undefined) {
        if (i > blockScalarIndent) continue;
        blockScalarIndent = undefined;
      }
      while (indents.length > 0 && indents[indents.length - 1] > i) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1] < i) indents.push(i);
      // `- - a` nests a sequence per dash on the same line.
      while (line[i] === '-' && (line[i + 1] === ' ' || i + 1 === line.length)) {
        i += 2;
        while (line[i] === ' ') i++;
        indents.push(i);
        if (indents.length + flow > limit) return { line: n + 1, column: i + 1 };
      }
      if (indents.length > limit) return { line: n + 1, column: i + 1 };
    }
    const lineIndent = indents.length > 0 ? indents[indents.length - 1] : 0;
    let previous = i === 0 ? ' ' : line[i - 1];
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote !== undefined) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else quote = undefined;
        }
        previous = c;
        continue;
      }
      const atTokenStart = previous === ' ' || previous === '\t' || previous === '[' || previous === '{' || previous === ',' || previous === ':';
      if (c === '#' && (previous === ' ' || previous === '\t')) break;
      if ((c === '"' || c === "'") && atTokenStart) quote = c;
      else if (c === '[' || c === '{') {
        flow++;
        if (indents.length + flow > limit) return { line: n + 1, column: i + 1 };
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
      else if ((c === '|' || c === '>') && flow === 0 && atTokenStart && /^[|>][-+0-9]*\s*(#.*)?\r?$/.test(line.slice(i))) {
        blockScalarIndent = lineIndent;
        break;
      }
      previous = c;
    }
  }
  return undefined;
}

/** The line on which the `limit`-th byte of `text` falls: where a text that is too large passes the limit. */
export function lineAtByte(text: string | Buffer, limit: number): number {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let line = 1;
  const end = Math.min(limit, bytes.length);
  for (let i = bytes.indexOf(10); i !== -1 && i < end; i = bytes.indexOf(10, i + 1)) line++;
  return line;
}

/** `2.5 MiB` */
export function mebibytes(bytes: number): string {
  const mib = bytes / 1048576;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}

/**
 * Why a text of `bytes` is refused, or undefined when it fits: `is 10.0 MiB, over the limit of
 * 8 MiB from line 123456 on`.
 */
export function sizeProblem(text: string | Buffer, limit: number): string | undefined {
  const bytes = typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : text.length;
  if (bytes <= limit) return undefined;
  return `is ${mebibytes(bytes)}, over the limit of ${mebibytes(limit)} from line ${lineAtByte(text, limit)} on`;
}

/** Why a text nests too deeply, or undefined: `line 3, column 17: nests deeper than 64 levels`. */
export function nestingProblem(text: string, limit = MAX_NESTING): { position: TextPosition; message: string } | undefined {
  const at = nestingBeyond(text, limit);
  if (at === undefined) return undefined;
  return { position: at, message: `nests lists and mappings deeper than ${limit} levels; flatten the document` };
}
