/**
 * Prints a host's program as one nftables table (`table inet <table> { … }`), for `nft -f`.
 *
 * Layout, top to bottom: peer sets, dispatch verdict maps, the `version` chain carrying the content
 * hash, tier chains, and the `forward` base chain. Every list is sorted and every element sits on its own
 * line, so a one-endpoint change is a one- or two-line diff. Set and chain blocks are printed once
 * per PolicySet and reused by every host.
 *
 * Every set, map and chain carries a `comment` saying what it is for (comments.ts; a tier chain
 * also a `#` line above it naming each rule's origin and sets, too long for a comment), and every
 * verdict-map element the endpoints it dispatches, so that `nft list table` on the host reads in
 * the model's words. The kernel keeps them; they are part of the hash. Set and map comments carry
 * no count: nft cannot change them on an existing set, and a member joining must not need a new set. Set elements stay bare:
 * a set holds every member of a group fleet-wide, and naming each would double the table.
 */
import { createHash } from "node:crypto";
import { PortRange } from "../ir";
import type { Family } from "../model/net";
import { Branch } from "./match-branches";
import { ChainAction, TierChain } from "./chains";
import { chainNotes, endpointsComment, nftChainComment, nftDispatchComment, nftSetComment } from "./comments";
import { plural } from "../ruleset/comment";
import { Dispatch, DispatchEntry, HostProgram, SetPart } from "./host-program";

const PROTO_NAME: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 33: "dccp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite" };
const protoName = (p: number) => PROTO_NAME[p] ?? String(p);
const ip = (f: Family) => (f === 4 ? "ip" : "ip6");
const addrType = (f: Family) => (f === 4 ? "ipv4_addr" : "ipv6_addr");

/** `80`, `8000-8080` or `{ 80, 443, 8000-8080 }`. */
function anonymousSet(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(", ")} }`;
}

const portText = (r: PortRange) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`);

export const setName = (id: string, f: Family) => `${id}_v${f}`;
export const mapName = (d: Pick<Dispatch, "layer" | "direction" | "family">) => `${d.layer}_${d.direction}_v${d.family}`;
export const chainName = (id: string) => `t_${id}`;

/** The match part of a rule line; the family's `meta nfproto` comes first when it matters. */
export function branchText(b: Branch): string {
  const parts: string[] = [];
  if (b.family) parts.push(`meta nfproto ipv${b.family}`);
  if (b.proto) {
    const op = b.proto.op === "in" ? "" : "!= ";
    parts.push(`meta l4proto ${op}${anonymousSet(b.proto.protocols.map(protoName))}`);
  }
  for (const a of b.addrs) {
    const f = b.family ?? 4;
    parts.push(`${ip(f)} ${a.dir === "src" ? "saddr" : "daddr"} ${a.negate ? "!= " : ""}@${setName(a.set, f)}`);
  }
  for (const p of b.ports) parts.push(`th ${p.dir === "src" ? "sport" : "dport"} ${p.negate ? "!= " : ""}${anonymousSet(p.ranges.map(portText))}`);
  for (const c of b.icmp) parts.push(`${b.family === 6 ? "icmpv6" : "icmp"} ${c.field} ${c.negate ? "!= " : ""}${c.value}`);
  return parts.join(" ");
}

function actionText(a: ChainAction): string {
  switch (a.kind) {
    case "return": return "return";
    case "drop": return "drop";
    case "goto": return `goto ${chainName(a.chain)}`;
    case "log": return `log prefix "netpol ${a.layer} "`;
    default: {
      const never: never = a;
      return never;
    }
  }
}

const targetText = (t: DispatchEntry["target"]) => (t.kind === "drop" ? "drop" : `jump ${chainName(t.chain)}`);

/** `elements = { … }` with one element per line. */
function elementLines(items: readonly string[]): string[] {
  return ["\t\telements = {", ...items.map((e, i) => `\t\t\t${e}${i < items.length - 1 ? "," : ""}`), "\t\t}"];
}



/** The chain that carries the table's hash in its one rule; nothing jumps to it. */
export const VERSION_CHAIN = "version";
const VERSION_CHAIN_HEAD = [
  "\t# The content hash of this table (sha256 of its parts' sha256s, without the rule that carries it).",
  `\tchain ${VERSION_CHAIN} {`,
  '\t\tcomment "the version of these rules: the hash in its rule comment; no packet comes here"',
  "",
].join("\n");
const VERSION_CHAIN_TAIL = "\t}";
/** The `version` chain's rule, as the renderer writes it and nft lists it (two tabs deep). */
export const versionRule = (hash: string) => `\t\treturn comment "netpol:${hash}"`;

/** A block's text and its sha256 (hex): digested once, however many hosts print it. */
interface Block {
  text: string;
  digest: string;
}

const block = (text: string): Block => ({ text, digest: createHash("sha256").update(text).digest("hex") });
const VERSION_BLOCK = block(VERSION_CHAIN_HEAD + VERSION_CHAIN_TAIL);
const TABLE_TAIL = "\n}\n";
const TAIL_DIGEST = block(TABLE_TAIL).digest;

/**
 * A table's content hash from its parts' sha256 digests, in order: the head line, each block (the
 * `version` chain without its rule) and the closing line; hex sha256 of the digests concatenated.
 * A set or chain block that many hosts print is digested once per PolicySet, so a host's hash costs
 * its own blocks (dispatch maps, the base chain), not the megabytes of set elements it shares.
 */
const tableHash = (digests: readonly string[]): string => createHash("sha256").update(digests.join(""), "hex").digest("hex");

/** Prints set and chain blocks once, then assembles hosts' tables from them. */
export class NftablesWriter {
  private readonly setBlocks = new Map<string, Block>();
  private readonly chainBlocks = new Map<string, Block>();

  private setBlock(part: SetPart): Block {
    const key = setName(part.id, part.family);
    let entry = this.setBlocks.get(key);
    if (entry === undefined) {
      entry = block([
        `\tset ${key} {`,
        `\t\ttype ${addrType(part.family)}`,
        ...(part.kind === "nets" ? ["\t\tflags interval"] : []),
        `\t\tcomment "${nftSetComment(part)}"`,
        ...elementLines(part.elements),
        "\t}",
      ].join("\n"));
      this.setBlocks.set(key, entry);
    }
    return entry;
  }

  private chainBlock(chain: TierChain): Block {
    let entry = this.chainBlocks.get(chain.textKey);
    if (entry === undefined) {
      entry = block([
        `\t# ${plural(chain.rules.length, "rule")}: ${chainNotes(chain)}`,
        `\tchain ${chainName(chain.id)} {`,
        `\t\tcomment "${nftChainComment(chain)}"`,
        ...chain.rules.map((r) => {
          const match = branchText(r.branch);
          return `\t\t${match === "" ? "" : `${match} `}${actionText(r.action)}`;
        }),
        `\t\t${actionText(chain.tail)}`,
        "\t}",
      ].join("\n"));
      this.chainBlocks.set(chain.textKey, entry);
    }
    return entry;
  }

  /**
   * The table text and its hash (`tableHash`), computed without the one line that carries it, the
   * `return comment "netpol:<hash>"` rule of the `version` chain. The hash lives in a rule, not in
   * the table's comment, because nft keeps an existing table's comment (`add table` does not
   * change it) while an incremental apply rewrites a rule (`flush chain` + `add rule`, nft-delta.ts).
   */
  table(table: string, program: HostProgram): { nft: string; hash: string } {
    const head = `table inet ${table} {\n`;
    // Hex, joined once: the same bytes as the raw digests concatenated, without a copy per block.
    const digests: string[] = [block(head).digest];
    const blocks: string[] = [];
    const add = ({ text, digest }: Block) => {
      digests.push(digest);
      blocks.push(text);
    };
    for (const part of program.sets) add(this.setBlock(part));
    // An endpoint's comment once per host, not once per map it is dispatched in.
    const comments = new Map<string, string>();
    const commentOf = (names: readonly string[]) => {
      const key = names.length === 1 ? names[0] : names.join("\n");
      let text = comments.get(key);
      if (text === undefined) comments.set(key, (text = endpointsComment(names)));
      return text;
    };
    for (const d of program.dispatch) {
      add(block([
        `\tmap ${mapName(d)} {`,
        `\t\ttype ${addrType(d.family)} : verdict`,
        `\t\tcomment "${nftDispatchComment(d)}"`,
        // The entry names its endpoints: `10.42.0.21 comment "shop/db-1" : jump t_…`.
        ...elementLines(d.entries.map((e) => `${e.address} comment "${commentOf(e.endpoints)}" : ${targetText(e.target)}`)),
        "\t}",
      ].join("\n")));
    }
    // Hashed without its rule line; the line is put in once the digest is known.
    const version = blocks.length;
    add(VERSION_BLOCK);
    for (const chain of program.chains) add(this.chainBlock(chain));
    add(block([
      "\t# Entry for forwarded traffic. Replies pass (stateful). A new connection runs, for every layer,",
      "\t# the egress program of its local source and the ingress program of its local destination:",
      "\t# a program returns when it allows, so all of them run, and any drop ends it.",
      "\tchain forward {",
      "\t\ttype filter hook forward priority filter; policy accept;",
      "\t\tcomment \"entry for forwarded traffic: replies pass, new connections run each layer's dispatch\"",
      // One lookup for every packet, in the order `nft list` prints the map.
      "\t\tct state vmap { invalid : drop, established : accept, related : accept }",
      ...program.dispatch.map((d) => `\t\t${ip(d.family)} ${d.direction === "egress" ? "saddr" : "daddr"} vmap @${mapName(d)}`),
      "\t}",
    ].join("\n")));
    digests.push(TAIL_DIGEST);
    const digest = tableHash(digests);
    blocks[version] = `${VERSION_CHAIN_HEAD}${versionRule(digest)}\n${VERSION_CHAIN_TAIL}`;
    return { nft: `${head}${blocks.join("\n\n")}${TABLE_TAIL}`, hash: digest };
  }
}
