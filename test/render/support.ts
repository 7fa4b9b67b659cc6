/** Test support for the renderers: fixtures, a hand-built policy set, and the real tools' checks. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicySetBuilder } from "../../provider/ir/builder";
import { compile } from "../../provider/compile";
import { Action, Match, PolicySet, Tier } from "../../provider/ir";
import { parseModelText } from "../../provider/model/model";

export const fixture = (name: string) => readFileSync(join(__dirname, "../fixtures/render", name), "utf8");
export const compileFixture = (name: string): PolicySet => compile(parseModelText(fixture(name), name));

/** Whether the kernel tools can be used here (root, binaries present). */
export function toolsAvailable(...tools: string[]): boolean {
  if (process.getuid?.() !== 0) return false;
  return tools.every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
}

/** Runs `nft -c -f` on the text; returns nft's complaint, or "" when it accepts. */
export function nftCheck(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "netpol-nft-"));
  try {
    const file = join(dir, "ruleset.nft");
    writeFileSync(file, text);
    const r = spawnSync("nft", ["-c", "-f", file], { encoding: "utf8" });
    return r.status === 0 ? "" : `${r.stderr}${r.stdout}`.trim() || `nft exited ${r.status}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Comments (# lines, a block's comment line, an element's) left out: nftables.test.ts tests them apart. */
export const withoutComments = (lines: readonly string[]): string[] =>
  lines.filter((l) => !/^\s*(comment "|#)/.test(l)).map((l) => l.replace(/ comment "[^"]*"/, ""));

/** Lines of one nft block (`chain t_x {` … `}`), without indentation, and without comments unless asked. */
export function nftBlock(text: string, header: RegExp, keepComments = false): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => header.test(l.trim()));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l === "\t}");
  const block = lines.slice(start + 1, end).map((l) => l.trim());
  return keepComments ? block : withoutComments(block);
}

export const PEERS = [
  { name: "x", ips: ["10.0.0.1", "fd00::1"], host: "h" },
  { name: "p4", ips: ["10.0.0.2"], host: "far" },
  { name: "p6", ips: ["fd00::2"], host: "far" },
];

/**
 * Local endpoint `x` on host `h` (and peers `p4` IPv4-only, `p6` IPv6-only on host `far`) whose
 * ingress program is the given tiers; `sets` names builder sets the matches refer to.
 */
export function oneProgram(make: (sets: { p4: string; p6: string; both: string; net: string }) => Tier[],
  backend: "nftables" | "iptables" = "nftables"): PolicySet {
  const b = new PolicySetBuilder();
  const sets = { p4: b.endpointSet(["p4"]), p6: b.endpointSet(["p6"]), both: b.endpointSet(["p4", "p6"]), net: b.netSet("10.0.0.0/8", ["10.9.0.0/16"]) };
  const program = b.program({ tiers: make(sets) });
  return b.build({ network: "t", endpoints: PEERS, hosts: [{ name: "h", backend }, { name: "far", backend }] },
    [{ name: "calico", ingress: { x: program }, egress: {}, ungoverned: { ingress: "", egress: "" } }]);
}

/** One tier holding one rule, ending in `end`. */
export const tier = (match: Match, action: Action = "allow", end: Tier["end"] = "deny"): Tier[] =>
  [{ name: "t", rules: [{ match, action, origin: "r" }], end, endOrigin: "e" }];

/**
 * User text that tries to end its comment, the table and the shell word. Not a name the model
 * accepts (endpoint names are identifiers), but the renderers must not rely on that.
 */
export const HOSTILE = 'evil" : accept }\n}\ntable ip x { chain y { type filter hook input priority 0; policy drop; } } # $(reboot) \\ netpol:ffff';

/** Endpoint HOSTILE on host `h`, allowed from a set (of `p` on `far`) named HOSTILE, in a tier named HOSTILE. */
export function hostilePolicySet(backend: "nftables" | "iptables" = "nftables"): PolicySet {
  const b = new PolicySetBuilder();
  const peers = b.namedEndpointSet("k", HOSTILE, () => ["p"]);
  const program = b.program({ tiers: [{ name: HOSTILE, rules: [{ match: { src: [{ set: peers }] }, action: "allow", origin: HOSTILE }], end: "deny", endOrigin: HOSTILE }] });
  return b.build({ network: "n", endpoints: [{ name: HOSTILE, ips: ["10.0.0.1"], host: "h" }, { name: "p", ips: ["10.0.0.2"], host: "far" }],
    hosts: [{ name: "h", backend }, { name: "far", backend }] }, [{ name: "calico", ingress: { [HOSTILE]: program }, egress: {}, ungoverned: { ingress: "", egress: "" } }]);
}
