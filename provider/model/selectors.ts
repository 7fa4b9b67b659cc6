/**
 * Label selectors of the three dialects, parsed once and evaluated against endpoint labels:
 * - Calico's selector grammar (`role == 'db' && !has(legacy)`), parsed into an AST whose errors
 *   carry the column;
 * - Kubernetes `LabelSelector` objects (matchLabels + matchExpressions);
 * - the string form Rancher selectors use (`key = value, key2 in (a, b), !key3`).
 * Pure: no I/O.
 */

export type Labels = Readonly<Record<string, string>>;

export type SelectorAst =
  | { kind: "all" }
  | { kind: "has"; key: string }
  | { kind: "eq"; key: string; value: string }
  | { kind: "ne"; key: string; value: string }
  | { kind: "in"; key: string; values: string[] }
  | { kind: "notIn"; key: string; values: string[] }
  | { kind: "contains" | "startsWith" | "endsWith"; key: string; value: string }
  | { kind: "not"; expr: SelectorAst }
  | { kind: "and"; left: SelectorAst; right: SelectorAst }
  | { kind: "or"; left: SelectorAst; right: SelectorAst };

export class SelectorSyntaxError extends Error {
  constructor(readonly column: number, readonly detail: string, readonly source: string) {
    super(`column ${column}: ${detail} in selector "${source}"`);
  }
}

type Token =
  | { t: "ident"; v: string; col: number }
  | { t: "string"; v: string; col: number }
  | { t: "op"; v: string; col: number }
  | { t: "end"; col: number };

const OPERATORS = ["==", "!=", "&&", "||", "!", "(", ")", "{", "}", ","];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t") { i++; continue; }
    const col = i + 1;
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new SelectorSyntaxError(col, "unterminated string", src);
      out.push({ t: "string", v: src.slice(i + 1, end), col });
      i = end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) { out.push({ t: "op", v: op, col }); i += op.length; continue; }
    const m = /^[A-Za-z0-9_.\/-]+/.exec(src.slice(i));
    if (!m) {
      const meant = ({ "=": "==", "&": "&&", "|": "||" } as Record<string, string>)[c];
      throw new SelectorSyntaxError(col, `unexpected character "${c}"${meant ? ` (did you mean "${meant}"? Calico selectors compare with ==, !=, and join with &&, ||)` : ""}`, src);
    }
    out.push({ t: "ident", v: m[0], col });
    i += m[0].length;
  }
  out.push({ t: "end", col: src.length + 1 });
  return out;
}

const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9_.\/-]*[A-Za-z0-9])?$/;

/** Parses a Calico selector expression. Throws SelectorSyntaxError with the column. */
export function parseCalicoSelector(src: string): SelectorAst {
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const fail = (tok: Token, what: string): never => {
    const seen = tok.t === "end" ? "end of selector" : `"${tok.v}"`;
    throw new SelectorSyntaxError(tok.col, `expected ${what}, found ${seen}`, src);
  };
  const isOp = (v: string) => { const t = peek(); return t.t === "op" && t.v === v; };
  const isWord = (v: string) => { const t = peek(); return t.t === "ident" && t.v === v; };
  const expectOp = (v: string) => { if (!isOp(v)) fail(peek(), `"${v}"`); pos++; };
  const stringLit = (): string => {
    const t = peek();
    if (t.t === "ident") throw new SelectorSyntaxError(t.col, `expected a quoted value, found "${t.v}" (did you mean '${t.v}'?)`, src);
    if (t.t !== "string") return fail(t, "a quoted value");
    pos++;
    return t.v;
  };
  const key = (): string => {
    const t = peek();
    if (t.t !== "ident" || !LABEL_KEY.test(t.v)) return fail(t, "a label key");
    pos++;
    return t.v;
  };
  const valueSet = (): string[] => {
    expectOp("{");
    const values: string[] = [];
    if (!isOp("}")) {
      values.push(stringLit());
      while (isOp(",")) { pos++; values.push(stringLit()); }
    }
    expectOp("}");
    return values;
  };
  const primary = (): SelectorAst => {
    if (isOp("(")) { pos++; const e = or(); expectOp(")"); return e; }
    if (isOp("!")) { pos++; return { kind: "not", expr: primary() }; }
    if (isWord("all")) { pos++; expectOp("("); expectOp(")"); return { kind: "all" }; }
    if (isWord("has")) { pos++; expectOp("("); const k = key(); expectOp(")"); return { kind: "has", key: k }; }
    const k = key();
    if (isOp("==")) { pos++; return { kind: "eq", key: k, value: stringLit() }; }
    if (isOp("!=")) { pos++; return { kind: "ne", key: k, value: stringLit() }; }
    if (isWord("in")) { pos++; return { kind: "in", key: k, values: valueSet() }; }
    if (isWord("not")) {
      pos++;
      if (!isWord("in")) fail(peek(), '"in" after "not"');
      pos++;
      return { kind: "notIn", key: k, values: valueSet() };
    }
    if (isWord("contains")) { pos++; return { kind: "contains", key: k, value: stringLit() }; }
    if (isWord("starts") || isWord("ends")) {
      const kind = peek().t === "ident" && (peek() as { v: string }).v === "starts" ? "startsWith" : "endsWith";
      pos++;
      if (!isWord("with")) fail(peek(), '"with"');
      pos++;
      return { kind, key: k, value: stringLit() };
    }
    return fail(peek(), '"==", "!=", "in", "not in", "contains", "starts with" or "ends with"');
  };
  const and = (): SelectorAst => {
    let left = primary();
    while (isOp("&&")) { pos++; left = { kind: "and", left, right: primary() }; }
    return left;
  };
  const or = (): SelectorAst => {
    let left = and();
    while (isOp("||")) { pos++; left = { kind: "or", left, right: and() }; }
    return left;
  };
  if (src.trim() === "") return { kind: "all" };
  const ast = or();
  if (peek().t !== "end") fail(peek(), '"&&", "||" or end of selector');
  return ast;
}

/** A label's value; names on Object.prototype (`toString`, `constructor`) are not labels. */
function labelOf(labels: Labels, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
}

export function matchesSelector(ast: SelectorAst, labels: Labels): boolean {
  switch (ast.kind) {
    case "all": return true;
    case "has": return labelOf(labels, ast.key) !== undefined;
    case "eq": return labelOf(labels, ast.key) === ast.value;
    case "ne": return labelOf(labels, ast.key) !== ast.value;
    case "in": { const v = labelOf(labels, ast.key); return v !== undefined && ast.values.includes(v); }
    case "notIn": { const v = labelOf(labels, ast.key); return v === undefined || !ast.values.includes(v); }
    case "contains": return labelOf(labels, ast.key)?.includes(ast.value) ?? false;
    case "startsWith": return labelOf(labels, ast.key)?.startsWith(ast.value) ?? false;
    case "endsWith": return labelOf(labels, ast.key)?.endsWith(ast.value) ?? false;
    case "not": return !matchesSelector(ast.expr, labels);
    case "and": return matchesSelector(ast.left, labels) && matchesSelector(ast.right, labels);
    case "or": return matchesSelector(ast.left, labels) || matchesSelector(ast.right, labels);
    default: {
      const never: never = ast;
      return never;
    }
  }
}

/** Kubernetes LabelSelector: matchLabels AND every matchExpression; `{}` selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export function matchesLabelSelector(sel: LabelSelector, labels: Labels): boolean {
  const required = sel.matchLabels;
  if (required) for (const k in required) if (labels[k] !== required[k]) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case "In": if (!has || !(e.values ?? []).includes(labels[e.key])) return false; break;
      case "NotIn": if (has && (e.values ?? []).includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: {
        const never: never = e.operator;
        return never;
      }
    }
  }
  return true;
}

/** A LabelSelector in the string form below (`app=db, tier in (a, b)`); `{}` is `all`. */
export function labelSelectorText(sel: LabelSelector): string {
  const terms = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    switch (e.operator) {
      case "In": terms.push(`${e.key} in (${(e.values ?? []).join(", ")})`); break;
      case "NotIn": terms.push(`${e.key} notin (${(e.values ?? []).join(", ")})`); break;
      case "Exists": terms.push(e.key); break;
      case "DoesNotExist": terms.push(`!${e.key}`); break;
      default: {
        const never: never = e.operator;
        return never;
      }
    }
  }
  return terms.length > 0 ? terms.join(", ") : "all";
}

/**
 * The string selector form Rancher uses (the Kubernetes set-based syntax):
 * `k = v`, `k == v`, `k != v`, `k in (a, b)`, `k notin (a, b)`, `k`, `!k`, joined by commas (AND).
 */
export function parseStringSelector(src: string): LabelSelector {
  const sel: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  const terms = splitTopLevel(src);
  terms.forEach(({ text, col }) => {
    const t = text.trim();
    const err = (detail: string) => new SelectorSyntaxError(col, detail, src);
    let m: RegExpExecArray | null;
    if ((m = /^([^\s=!(),]+)\s*(notin|in)\s*\(([^()]*)\)$/.exec(t))) {
      const values = m[3].split(",").map((v) => v.trim()).filter((v) => v !== "");
      if (values.length === 0) throw err(`"${m[2]}" needs at least one value`);
      checkKey(m[1], err);
      sel.matchExpressions.push({ key: m[1], operator: m[2] === "in" ? "In" : "NotIn", values });
    } else if ((m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(t))) {
      checkKey(m[1], err);
      if (m[2] === "!=") sel.matchExpressions.push({ key: m[1], operator: "NotIn", values: [m[3]] });
      else sel.matchExpressions.push({ key: m[1], operator: "In", values: [m[3]] });
    } else if ((m = /^!\s*([^\s=!(),]+)$/.exec(t))) {
      checkKey(m[1], err);
      sel.matchExpressions.push({ key: m[1], operator: "DoesNotExist" });
    } else if ((m = /^([^\s=!(),]+)$/.exec(t))) {
      checkKey(m[1], err);
      sel.matchExpressions.push({ key: m[1], operator: "Exists" });
    } else {
      throw err(`cannot read "${t}"; expected "key = value", "key != value", "key in (a, b)", "key notin (a, b)", "key" or "!key"`);
    }
  });
  return sel;
}

function checkKey(key: string, err: (d: string) => Error): void {
  if (!isLabelKey(key)) throw err(`"${key}" is not a valid label key`);
}

function splitTopLevel(src: string): { text: string; col: number }[] {
  const out: { text: string; col: number }[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i <= src.length; i++) {
    const c = src[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    if ((c === "," && depth === 0) || i === src.length) {
      const text = src.slice(start, i);
      const lead = text.length - text.trimStart().length;
      if (text.trim() !== "") out.push({ text, col: start + lead + 1 });
      else if (i < src.length || out.length > 0) throw new SelectorSyntaxError(start + 1, "empty term", src);
      start = i + 1;
    }
  }
  return out;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Kubernetes label key: optional DNS-subdomain prefix (<= 253) and "/", then a name (<= 63). */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

/** Kubernetes label value: empty, or <= 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric. */
export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= 63 && LABEL_NAME.test(value));
}
