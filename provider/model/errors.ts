import { ZodError, ZodIssue } from "zod";

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
      issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("\n  "));
    this.name = "InputError";
  }
}

/** `["endpoints", 3, "labels", "a/b"]` → `endpoints[3].labels["a/b"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The closest known name, when it is close enough to be a likely typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (d < bestScore) { best = k; bestScore = d; }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function describeIssue(issue: ZodIssue, knownKeys: (path: (string | number)[]) => string[]): InputIssue[] {
  const path = issue.path;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const hint = suggest(key, knownKeys(path));
        return {
          path: formatPath([...path, key]),
          message: `unknown field${hint ? ` (did you mean "${hint}"?)` : ""}; remove it or fix its name`,
        };
      });
    case "invalid_type":
      if (issue.received === "undefined") return [{ path: formatPath(path), message: `is required (${issue.expected})` }];
      return [{ path: formatPath(path), message: `must be ${issue.expected}, not ${issue.received}` }];
    case "invalid_union_discriminator":
    case "invalid_enum_value":
      return [{ path: formatPath(path), message: issue.message }];
    case "invalid_union": {
      // Report the branch that got furthest: its issues are the most specific.
      const branches = issue.unionErrors.map((e) => e.issues);
      const best = branches.sort((a, b) => depth(b) - depth(a))[0] ?? [];
      return best.flatMap((i) => describeIssue(i, knownKeys));
    }
    default:
      return [{ path: formatPath(path), message: issue.message }];
  }
}

function depth(issues: ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === "invalid_type" ? 0 : 0.5)));
}

export function issuesFromZod(err: ZodError, knownKeys: (path: (string | number)[]) => string[] = () => []): InputIssue[] {
  const seen = new Set<string>();
  const out: InputIssue[] = [];
  for (const issue of err.issues.flatMap((i) => describeIssue(i, knownKeys))) {
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) { seen.add(key); out.push(issue); }
  }
  return out;
}
