/** Puts a reachability result in plain words: the verdict, then what each layer decided and why. */
import { Decision, ReachResult } from "./reach";

const LAYER_TITLE = { rancher: "Rancher", calico: "Calico", kubernetes: "Kubernetes" } as const;

function describe(d: Decision): string {
  const who = d.direction === "egress" ? `leaving ${d.endpoint}` : `entering ${d.endpoint}`;
  const verdict = d.verdict === "allow" ? "allows" : "denies";
  const head = `${LAYER_TITLE[d.layer]} ${d.direction}, ${who}: ${verdict}`;
  const logged = d.logged.length > 0 ? ` (logged by ${d.logged.join(", ")})` : "";
  switch (d.by) {
    case "rule":
      return `${head} — rule ${d.origin}${d.tier ? ` in ${d.tier}` : ""} matches${logged}`;
    case "default":
      // A path (`network.defaultPolicyAction`) is what decides; other defaults say why in a sentence.
      return isPath(d.origin)
        ? `${head} — no rule matches${d.tier ? ` in ${d.tier}` : ""}, so ${d.origin} decides${logged}`
        : `${head} — ${d.origin}${logged}`;
    case "ungoverned":
      return `${head} — not filtered: ${d.origin}`;
    default: {
      const never: never = d.by;
      return never;
    }
  }
}

/** `network.defaultPolicyAction`, `profiles[0].inbound_rules`: a place in the model, not a sentence. */
function isPath(origin: string): boolean {
  return /^[A-Za-z_][\w]*(\[\d+\]|\.[A-Za-z_][\w]*)*$/.test(origin);
}

/** How the closing line names a denying decision. */
function decidingName(d: Decision): string {
  if (d.by === "rule" || isPath(d.origin)) return d.origin;
  return `${LAYER_TITLE[d.layer]} ${d.direction} of ${d.endpoint} (${d.origin})`;
}

export function explain(r: ReachResult): string {
  const lines = [`${r.from} → ${r.to} on ${r.probe}: ${r.allowed ? "ALLOWED" : "DENIED"}`];
  if (r.family !== undefined) lines.push(`  flow: ${r.srcIp} → ${r.dstIp} (IPv${r.family})`);
  if (r.note) lines.push(`  ${r.note}`);
  for (const d of r.trail) lines.push(`  ${d.verdict === "allow" ? "✓" : "✗"} ${describe(d)}`);
  if (!r.allowed && r.trail.length > 0) {
    const deciding = r.trail.filter((d) => d.verdict === "deny").map(decidingName);
    lines.push(`  Decided by: ${deciding.join("; ")}. Every layer, in both directions, must allow.`);
  } else if (r.trail.length > 0) {
    lines.push("  Every layer allows in both directions; replies return through connection tracking.");
  }
  return lines.join("\n");
}
