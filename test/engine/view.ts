/**
 * Prints a harness result the way `pulumi preview --diff` / `pulumi up` do: one line per resource
 * step (`+ create`, `~ update`, `+- replace`, `- delete`), the changed inputs under updates
 * (multi-line strings diffed line by line), `[secret]` for secrets and `(computed)` for unknowns.
 */
import { DeployResult, Step } from "./deploy";
import { diffLines, formatDiff } from "../../provider/deploy/line-diff";
import { isObject, isSecret, isUnknown, Json, PropertyMap, reveal, sameValue } from "./values";

const SYMBOL: Record<Step["op"], string> = { create: "+ ", update: "~ ", replace: "+-", delete: "- ", same: "  ", read: "~ " };
const HIDDEN = (key: string) => key.startsWith("__");

function scalar(v: Json | undefined): string {
  if (v === undefined) return "(none)";
  if (isSecret(v)) return "[secret]";
  if (isUnknown(v)) return "(computed)";
  if (typeof v === "string") {
    if (v.includes("\n")) return `(${v.split("\n").length} lines)`;
    return JSON.stringify(v.length > 100 ? `${v.slice(0, 97)}...` : v);
  }
  const text = JSON.stringify(mask(v));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The value with secrets replaced by "[secret]" and unknowns by "(computed)", for display. */
export function mask(v: Json): Json {
  if (isSecret(v)) return "[secret]";
  if (isUnknown(v)) return "(computed)";
  if (Array.isArray(v)) return v.map(mask);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
  return v;
}

function key(path: string, k: string | number): string {
  if (typeof k === "number") return `${path}[${k}]`;
  const safe = /^[A-Za-z_$][\w$-]*$/.test(k) ? k : JSON.stringify(k);
  return path === "" ? safe : /^[A-Za-z_$]/.test(safe) ? `${path}.${safe}` : `${path}[${safe}]`;
}

/** Lines describing how `after` differs from `before`, property by property. */
export function propertyDiff(before: Json | undefined, after: Json | undefined, path = ""): string[] {
  if (sameValue(before === undefined ? undefined : reveal(before), after === undefined ? undefined : reveal(after))
      && isSecret(before ?? null) === isSecret(after ?? null)) return [];
  if (before === undefined) return [`+ ${path}: ${scalar(after)}`];
  if (after === undefined) return [`- ${path}: ${scalar(before)}`];
  if (isSecret(before) || isSecret(after) || isUnknown(before) || isUnknown(after)) return [`~ ${path}: ${scalar(before)} => ${scalar(after)}`];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => path !== "" || !HIDDEN(k)).sort();
    return keys.flatMap((k) => propertyDiff(before[k], after[k], key(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => propertyDiff(before[i], after[i], key(path, i))).flat();
  }
  if (typeof before === "string" && typeof after === "string" && before.includes("\n") && after.includes("\n")) {
    return [`~ ${path}:`, ...formatDiff(diffLines(before.split("\n"), after.split("\n")), { gap: "...", edgeGaps: false }).map((l) => `    ${l}`)];
  }
  return [`~ ${path}: ${scalar(before)} => ${scalar(after)}`];
}

/** Top-level inputs of a created resource, one line each. */
function summary(props: PropertyMap | undefined): string[] {
  const multiLineMap = (v: Json): v is { [k: string]: Json } =>
    isObject(v) && !isSecret(v) && Object.values(v).some((x) => typeof x === "string" && x.includes("\n"));
  return Object.entries(props ?? {}).filter(([k]) => !HIDDEN(k)).sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([k, v]) => (multiLineMap(v)
      ? Object.entries(v).map(([sub, x]) => `+ ${key(k, sub)}: ${scalar(x)}`)
      : [`+ ${k}: ${scalar(v)}`]));
}

function stepLines(step: Step, detail: boolean): string[] {
  const label = step.op === "read" ? (step.drift ? "drift" : "no change") : step.op === "same" ? "check" : step.op;
  const tail = step.op === "replace" && step.replaces?.length ? `  [diff: ${step.replaces.map((r) => `~${r}`).join(", ")}]` : "";
  const head = ` ${SYMBOL[step.op]} ${step.type}  ${step.name}  ${label}${tail}${step.error ? "  **failed**" : ""}`;
  const body: string[] = [];
  if (detail) {
    if (step.op === "create") body.push(...summary(step.after));
    else if (step.op === "update" || step.op === "replace" || (step.op === "read" && step.drift)) body.push(...propertyDiff(step.before, step.after));
  }
  if (step.error) body.push(...`error: ${step.error}`.split("\n"));
  return [head, ...body.map((l) => `       ${l}`)];
}

const VERB: Record<DeployResult["op"], string> = { preview: "Previewing update", up: "Updating", refresh: "Refreshing", destroy: "Destroying" };

export function formatResult(r: DeployResult, options: { detail?: boolean } = {}): string {
  const detail = options.detail ?? true;
  const out = [`${VERB[r.op]} (${r.project}/${r.stack}):`, ""];
  const shown = r.steps.filter((s) => s.error !== undefined || (s.op !== "same" && !(s.op === "read" && !s.drift)));
  for (const s of shown) out.push(...stepLines(s, detail));
  if (shown.length > 0) out.push("");
  if (r.op !== "refresh" && r.op !== "destroy" && Object.keys(r.outputs).length > 0) {
    out.push("Outputs:", ...Object.entries(r.outputs).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `    ${k}: ${scalar(v)}`), "");
  }
  const count = (op: Step["op"]) => r.steps.filter((s) => s.op === op && s.error === undefined).length;
  const verb = (v: string, past: string) => (r.op === "preview" ? ` to ${v}` : ` ${past}`);
  const lines = [
    [count("create"), "+", verb("create", "created")], [count("update"), "~", verb("update", "updated")],
    [count("replace"), "+-", verb("replace", "replaced")], [count("delete"), "-", verb("delete", "deleted")],
  ].filter(([n]) => Number(n) > 0).map(([n, sym, what]) => `    ${sym} ${n}${what}`);
  if (r.op === "refresh") {
    const drifted = r.steps.filter((s) => s.op === "read" && s.drift).length;
    lines.push(`    ${drifted} drifted`, `    ${count("read") - drifted} unchanged`);
  } else if (r.op !== "destroy") lines.push(`    ${count("same")} unchanged`);
  out.push("Resources:", ...lines, "");
  if (r.errors.length > 0) out.push("Errors:", ...r.errors.flatMap((e) => e.split("\n").map((l) => `    ${l}`)), "");
  out.push(`Duration: ${(r.durationMs / 1000).toFixed(1)}s`);
  return out.join("\n");
}
