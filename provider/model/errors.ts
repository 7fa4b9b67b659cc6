import { defaultErrorMap, ZodError, ZodIssue, ZodTypeAny } from "zod";
import { objectKeys, PickedUnion, typeName } from "./picked-union";
import { boundedMessage, quoted } from "./echo";
import { didYouMean, suggest } from "./suggest";

export { suggest };

/** One problem in user input: where (property path), and what to do about it. */
export interface InputIssue {
  path: string;
  message: string;
}

/**
 * Bad input. The message lists every issue as `path: message`, prefixed with the thing being read
 * (a file, a resource name), so the user can fix all of them in one go.
 */
export class InputError extends Error {
  constructor(readonly subject: string, readonly issues: InputIssue[]) {
    super(`${subject}: ${issues.length === 1 ? "" : `${issues.length} problems:\n  `}` +
      issues.map((i) => boundedMessage(i.path ? `${i.path}: ${i.message}` : i.message)).join("\n  "));
    this.name = "InputError";
  }
}

/** `["endpoints", 3, "labels", "a/b"]` → `endpoints[3].labels["a/b"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${quoted(seg)}]`;
  }
  return out;
}

/** The schemas that may sit at `path` under `schema` (a union gives each branch). */
function schemasAt(schema: ZodTypeAny, path: readonly (string | number)[]): ZodTypeAny[] {
  let current = [schema];
  for (const seg of path) current = current.flatMap((s) => childrenOf(unwrap(s), seg));
  return current.flatMap((s) => branchesOf(unwrap(s)));
}

function unwrap(s: ZodTypeAny): ZodTypeAny {
  const def = s._def as { typeName?: string; innerType?: ZodTypeAny; schema?: ZodTypeAny; getter?: () => ZodTypeAny };
  switch (def.typeName) {
    case "ZodOptional":
    case "ZodNullable":
    case "ZodDefault": return def.innerType ? unwrap(def.innerType) : s;
    case "ZodEffects": return def.schema ? unwrap(def.schema) : s;
    case "ZodLazy": return def.getter ? unwrap(def.getter()) : s;
    default: return s;
  }
}

function branchesOf(s: ZodTypeAny): ZodTypeAny[] {
  if (s instanceof PickedUnion) return s.options.flatMap((o) => branchesOf(unwrap(o)));
  const def = s._def as { typeName?: string; options?: ZodTypeAny[] };
  if (def.typeName === "ZodUnion" && def.options) return def.options.flatMap((o) => branchesOf(unwrap(o)));
  return [s];
}

function childrenOf(s: ZodTypeAny, seg: string | number): ZodTypeAny[] {
  return branchesOf(s).flatMap((b) => {
    const def = b._def as { typeName?: string; shape?: () => Record<string, ZodTypeAny>; type?: ZodTypeAny; valueType?: ZodTypeAny };
    switch (def.typeName) {
      case "ZodObject": {
        const child = def.shape?.()[String(seg)];
        return child ? [child] : [];
      }
      case "ZodArray": return def.type ? [def.type] : [];
      case "ZodRecord": return def.valueType ? [def.valueType] : [];
      default: return [];
    }
  });
}

/** The value the input has at `path` (undefined when the path leaves it). */
function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** True when the issue carries a message written for it, not zod's generic one. */
function hasOwnMessage(issue: ZodIssue): boolean {
  return issue.message !== defaultErrorMap(issue, { defaultError: issue.message, data: undefined }).message;
}

/** `"a", "b" or "c"` */
function alternatives(values: readonly unknown[]): string {
  const q = values.map((v) => JSON.stringify(v));
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

/** zod's `'a' | 'b'` (an enum's expected type) as `"a" or "b"`. */
function expectedText(expected: string): string {
  const parts = expected.split(" | ");
  return parts.length > 1 && parts.every((p) => /^'.*'$/.test(p)) ? alternatives(parts.map((p) => p.slice(1, -1))) : expected;
}

/** A problem, and for an unknown field the field it most likely meant (to drop "X is required" for it). */
interface Described extends InputIssue {
  meant?: string;
}

interface Context {
  schema?: ZodTypeAny;
  value: unknown;
}

function describeIssue(issue: ZodIssue, ctx: Context): Described[] {
  const path = issue.path;
  const at = formatPath(path);
  const value = valueAt(ctx.value, path);
  const own = hasOwnMessage(issue);
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = ctx.schema ? [...new Set(schemasAt(ctx.schema, path).flatMap(objectKeys))] : [];
      return issue.keys.map((key) => {
        const hint = suggest(key, known);
        return {
          path: formatPath([...path, key]),
          message: `unknown field${hint ? ` (did you mean "${hint}"?)` : ""}; remove it or fix its name`,
          ...(hint ? { meant: formatPath([...path, hint]) } : {}),
        };
      });
    }
    case "invalid_type":
      if (issue.received === "undefined") return [{ path: at, message: `is required (${expectedText(issue.expected)})` }];
      if (own) return [{ path: at, message: issue.message }];
      if (issue.expected === "integer") return [{ path: at, message: `must be a whole number, not ${quoted(value)}` }];
      return [{ path: at, message: `must be ${expectedText(issue.expected)}, not ${issue.received}` }];
    case "invalid_enum_value": {
      const options = issue.options.map(String);
      return [{ path: at, message: `must be ${alternatives(options)}, not ${quoted(issue.received)}${didYouMean(String(issue.received), options)}` }];
    }
    case "invalid_literal": {
      const hint = typeof issue.expected === "string" && typeof value === "string" ? didYouMean(value, [issue.expected]) : "";
      return [{ path: at, message: `must be ${JSON.stringify(issue.expected)}, not ${value === undefined ? typeName(value) : quoted(value)}${hint}` }];
    }
    case "too_small":
    case "too_big": {
      if (own) return [{ path: at, message: issue.message }];
      const small = issue.code === "too_small";
      const bound = Number(small ? issue.minimum : issue.maximum);
      const words = small ? (issue.inclusive ? "at least" : "more than") : (issue.inclusive ? "at most" : "less than");
      if (small && bound === 1 && issue.inclusive && (issue.type === "string" || issue.type === "array")) {
        return [{ path: at, message: issue.type === "string" ? "must not be empty" : "must list at least one item" }];
      }
      switch (issue.type) {
        case "number": return [{ path: at, message: `must be ${words} ${bound}, not ${quoted(value)}` }];
        case "string": return [{ path: at, message: `must be ${words} ${bound} character(s) long` }];
        case "array": return [{ path: at, message: `must list ${words} ${bound} item(s)` }];
        default: return [{ path: at, message: `must be ${words} ${bound}` }];
      }
    }
    case "invalid_string":
      return [{ path: at, message: own ? issue.message : `is not a valid ${issue.validation === "regex" ? "value" : String(issue.validation)}` }];
    case "invalid_union": {
      if (own) return [{ path: at, message: issue.message }];
      // A plain z.union (the model's own unions pick their branch; see picked-union.ts): report
      // the branch whose issues reach deepest.
      const branches = issue.unionErrors.map((e) => e.issues);
      const best = branches.sort((a, b) => depth(b) - depth(a))[0] ?? [];
      return best.flatMap((i) => describeIssue(i, ctx));
    }
    default:
      return [{ path: at, message: issue.message }];
  }
}

function depth(issues: ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

/**
 * zod issues in the project's words, one per problem, each at its property path. With the schema
 * and the value that was parsed, an unknown field gets the closest known name as a did-you-mean,
 * and "X is required" is left out when an unknown field next to it is a typo of X.
 */
export function issuesFromZod(err: ZodError, schema?: ZodTypeAny, value?: unknown): InputIssue[] {
  const described = err.issues.flatMap((i) => describeIssue(i, { schema, value }));
  const meant = new Set(described.flatMap((d) => (d.meant ? [d.meant] : [])));
  const seen = new Set<string>();
  const out: InputIssue[] = [];
  for (const d of described) {
    if (meant.has(d.path) && d.message.startsWith("is required")) continue;
    const key = `${d.path}\u0000${d.message}`;
    if (!seen.has(key)) { seen.add(key); out.push({ path: d.path, message: d.message }); }
  }
  return out;
}
