/**
 * Prints a host's program for legacy hosts: `ipset restore` input for the sets and
 * `iptables-restore --noflush` / `ip6tables-restore --noflush` input for the project's own chains.
 *
 * Same program as the nftables writer, spelled for iptables: one entry chain (FORWARD jumps to
 * it) that lets replies pass and then dispatches each local endpoint's address, per layer and
 * direction, to its program's first tier chain (`-j`: a tier chain RETURNs when it allows, so the
 * next dispatch rule still runs). iptables has no verdict maps, so dispatch is one rule per local
 * address; that is linear per packet, acceptable for the hosts this backend is for.
 *
 * Comments (comments.ts): a `#` line above each set, dispatch list and tier chain says what it is
 * for (those lines stay in the rendered text); each dispatch rule names its endpoints with
 * `-m comment`, which the kernel keeps.
 */
import { createHash } from "node:crypto";
import { hashChainOf } from "../ruleset";
import { PortRange } from "../ir";
import type { Family } from "../model/net";
import { Branch, IcmpCond } from "./match-branches";
import { ChainAction, TierChain } from "./chains";
import { chainComment, chainNotes, dispatchComment, endpointsComment, setComment } from "./comments";
import { DispatchEntry, HostProgram, RenderError, SetPart } from "./host-program";

const PROTO_NAME: Record<number, string> = { 6: "tcp", 17: "udp", 33: "dccp", 132: "sctp", 136: "udplite" };
const protoName = (p: number, f: Family) =>
  PROTO_NAME[p] ?? (p === 1 && f === 4 ? "icmp" : p === 58 && f === 6 ? "ipv6-icmp" : String(p));

/** `-m multiport` takes at most 15 ports, a range counting as two. */
function multiportChunks(ranges: readonly PortRange[]): string[] {
  const chunks: string[][] = [];
  let cur: string[] = [];
  let weight = 0;
  for (const r of ranges) {
    const w = r.from === r.to ? 1 : 2;
    if (weight + w > 15) { chunks.push(cur); cur = []; weight = 0; }
    cur.push(r.from === r.to ? String(r.from) : `${r.from}:${r.to}`);
    weight += w;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks.map((c) => c.join(","));
}

/** hash:net cannot hold a /0: store it as its two halves. */
function ipsetNets(elements: readonly string[]): string[] {
  return elements.flatMap((e) => (e === "0.0.0.0/0" ? ["0.0.0.0/1", "128.0.0.0/1"] : e === "::/0" ? ["::/1", "8000::/1"] : [e]));
}

export class IptablesWriter {
  /** Entry chain, and prefix of every chain: the table name uppercased. */
  readonly entryChain: string;
  private readonly setText = new Map<string, string>();
  private readonly chainText = new Map<string, string>();

  constructor(readonly table: string) {
    this.entryChain = table.toUpperCase();
    // iptables chain names hold 28 characters, ipset names 31.
    if (this.entryChain.length > 15) throw new RenderError(`table name "${table}" is too long for iptables chain and ipset names (at most 15 characters)`);
  }

  /**
   * The chain that only holds the content hash, one commented rule per family (no jump reaches it):
   * an incremental apply rewrites it alone when the other chains keep their rules and counters.
   * Tier ids are hex, so `_HASH` never names a tier chain.
   */
  get hashChain(): string {
    return hashChainOf(this.entryChain);
  }

  /** iptables chain names are the uppercased table plus the tier id: `NETPOL_1ADDAEA5_4910CD793E53`. */
  chainName(id: string): string {
    return `${this.entryChain}_${id.toUpperCase()}`;
  }

  setName(id: string, f: Family): string {
    return `${this.table}_${id.replace(/^s_/, "")}_${f}`;
  }

  private ipsetBlock(part: SetPart): string {
    const name = this.setName(part.id, part.family);
    let text = this.setText.get(name);
    if (text === undefined) {
      const elements = part.kind === "nets" ? ipsetNets(part.elements) : part.elements;
      const type = part.kind === "nets" ? "hash:net" : "hash:ip";
      const maxelem = Math.max(65536, elements.length);
      text = [
        `# ${setComment(part)}`,
        `create ${name} ${type} family ${part.family === 4 ? "inet" : "inet6"} maxelem ${maxelem} -exist`,
        `flush ${name}`,
        ...elements.map((e) => `add ${name} ${e}`),
      ].join("\n");
      this.setText.set(name, text);
    }
    return text;
  }

  private icmpMatches(b: Branch, f: Family): string[] {
    const [module, option] = f === 4 ? ["icmp", "--icmp-type"] : ["icmp6", "--icmpv6-type"];
    const type = b.icmp.find((c) => c.field === "type" && !c.negate);
    const one = (c: IcmpCond): string => {
      if (c.field === "type") return `-m ${module} ${c.negate ? "! " : ""}${option} ${c.value}`;
      if (!type) throw new RenderError("iptables cannot test an ICMP code without an ICMP type; add icmp_type to the rule");
      return `-m ${module} ${c.negate ? "! " : ""}${option} ${type.value}/${c.value}`;
    };
    const withCode = b.icmp.some((c) => c.field === "code" && !c.negate);
    // `--icmp-type T/C` already tests the type: skip the bare type test then.
    return b.icmp.filter((c) => !(withCode && c === type)).map(one);
  }

  /** Rule lines (without `-A CHAIN`) of one branch for one family; several when it must expand. */
  private branchLines(b: Branch, f: Family): string[] {
    if (b.family !== undefined && b.family !== f) return [];
    const addrs = b.addrs.map((a) => `-m set ${a.negate ? "! " : ""}--match-set ${this.setName(a.set, f)} ${a.dir}`);
    const notPorts = b.ports.filter((p) => p.negate)
      .flatMap((p) => multiportChunks(p.ranges).map((c) => `-m multiport ! --${p.dir === "src" ? "sports" : "dports"} ${c}`));
    const icmp = this.icmpMatches(b, f);
    let protos: string[] = [""];
    if (b.proto?.op === "in") protos = b.proto.protocols.map((p) => `-p ${protoName(p, f)}`);
    else if (b.proto) {
      if (b.proto.protocols.length > 1) {
        throw new RenderError(`iptables cannot test "protocol is none of ${b.proto.protocols.join(", ")}" in one rule; give the rule a protocol`);
      }
      protos = [`! -p ${protoName(b.proto.protocols[0], f)}`];
    }
    // Positive port lists longer than one multiport match become one rule per chunk (disjoint).
    let portAlternatives: string[] = [""];
    for (const p of b.ports) {
      if (p.negate) continue;
      const chunks = multiportChunks(p.ranges).map((c) => `-m multiport --${p.dir === "src" ? "sports" : "dports"} ${c}`);
      portAlternatives = portAlternatives.flatMap((prefix) => chunks.map((c) => (prefix ? `${prefix} ${c}` : c)));
    }
    const out: string[] = [];
    for (const proto of protos) {
      for (const ports of portAlternatives) out.push([proto, ...addrs, ports, ...notPorts, ...icmp].filter((s) => s !== "").join(" "));
    }
    return out;
  }

  private actionText(a: ChainAction): string {
    switch (a.kind) {
      case "return": return "-j RETURN";
      case "drop": return "-j DROP";
      case "goto": return `-g ${this.chainName(a.chain)}`;
      case "log": return `-j LOG --log-prefix "netpol ${a.layer} "`;
      default: {
        const never: never = a;
        return never;
      }
    }
  }

  private chainBlock(chain: TierChain, f: Family): string {
    const key = `${chain.textKey}/${f}`;
    let text = this.chainText.get(key);
    if (text === undefined) {
      const name = this.chainName(chain.id);
      const rules: string[] = [];
      for (const r of chain.rules) {
        for (const m of this.branchLines(r.branch, f)) rules.push([`-A ${name}`, m, this.actionText(r.action)].filter((s) => s !== "").join(" "));
      }
      text = [`# ${chainComment(chain, rules.length)}: ${chainNotes(chain)}`, ...rules, `-A ${name} ${this.actionText(chain.tail)}`].join("\n");
      this.chainText.set(key, text);
    }
    return text;
  }

  private targetText(t: DispatchEntry["target"]): string {
    return t.kind === "drop" ? "-j DROP" : `-j ${this.chainName(t.chain)}`;
  }

  /**
   * `*filter … COMMIT` for one family, in two parts around the place of the hash chain's rule
   * (which cannot be part of what it hashes): everything, then `COMMIT`.
   */
  private restoreParts(program: HostProgram, f: Family): [string, string] {
    const entry = this.entryChain;
    const head = [
      "*filter",
      `:${entry} - [0:0]`,
      ...program.chains.map((c) => `:${this.chainName(c.id)} - [0:0]`),
      `:${this.hashChain} - [0:0]`,
      "# Entry (FORWARD jumps here): replies pass; a new connection runs, for every layer, the egress",
      "# program of its local source and the ingress program of its local destination.",
      "",
    ];
    const lines = [
      `-A ${entry} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${entry} -m conntrack --ctstate INVALID -j DROP`,
    ];
    const host = f === 4 ? "/32" : "/128";
    for (const d of program.dispatch) {
      if (d.family !== f) continue;
      const side = d.direction === "egress" ? "-s" : "-d";
      lines.push(`# ${dispatchComment(d)}`);
      for (const e of d.entries) {
        lines.push(`-A ${entry} ${side} ${e.address}${host} -m comment --comment "${endpointsComment(e.endpoints)}" ${this.targetText(e.target)}`);
      }
    }
    for (const c of program.chains) lines.push(this.chainBlock(c, f));
    lines.push("");
    return [head.join("\n") + lines.join("\n"), "COMMIT\n"];
  }

  ruleset(program: HostProgram): { ipset: string; v4: string; v6: string; entryChain: string; hash: string } {
    const ipset = program.sets.map((p) => this.ipsetBlock(p)).join("\n") + (program.sets.length > 0 ? "\n" : "");
    const [v4a, v4b] = this.restoreParts(program, 4);
    const [v6a, v6b] = this.restoreParts(program, 6);
    const hash = createHash("sha256").update(ipset).update("\0").update(v4a).update(v4b).update("\0").update(v6a).update(v6b).digest("hex");
    const marker = `-A ${this.hashChain} -m comment --comment "netpol:${hash}"\n`;
    return { ipset, v4: v4a + marker + v4b, v6: v6a + marker + v6b, entryChain: this.entryChain, hash };
  }
}
