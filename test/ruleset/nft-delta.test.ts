/**
 * nftDelta: table-driven cases on small tables of the renderer's layout, and the oracle: in a
 * network namespace, the previous table applied in full and then the delta lists exactly like
 * the new table applied in full (up to the order nft prints blocks and elements in), over many
 * random model changes.
 */
import { spawnSync } from "node:child_process";
import { parseModelText } from "../../provider/model/model";
import { compile } from "../../provider/compile";
import { renderHost } from "../../provider/render";
import { nftDelta, validateNftDelta } from "../../provider/ruleset/nft-delta";
import { changeModel, modelText, randomModel, rng } from "./random-model";

const T = "netpol_0a1b2c3d";
const set = (name: string, elements: string[], head = 'type ipv4_addr\n\t\tcomment "stack web, IPv4 addresses"', kind = "set") =>
  `\t${kind} ${name} {\n\t\t${head}\n\t\telements = {\n${elements.map((e, i) => `\t\t\t${e}${i < elements.length - 1 ? "," : ""}`).join("\n")}\n\t\t}\n\t}\n`;
const map = (entries: string[]) => set("m_v4", entries, 'type ipv4_addr : verdict\n\t\tcomment "rancher ingress dispatch"', "map");
const chain = (name: string, rules: string[], comment = "rancher network policy, else drop") => `\t# notes\n\tchain ${name} {\n\t\tcomment "${comment}"\n${rules.map((r) => `\t\t${r}\n`).join("")}\t}\n`;
const version = (hash: string) => `\tchain version {\n\t\tcomment "the version"\n\t\treturn comment "netpol:${hash}"\n\t}\n`;
const forward = (lines = ["ip daddr vmap @m_v4"]) => `\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n${lines.map((l) => `\t\t${l}\n`).join("")}\t}\n`;
const table = (hash: string, ...blocks: string[]) => `table inet ${T} {\n${blocks.join("\n")}${version(hash)}${forward()}}\n`;

const base = table("aa", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"]));
const versionLines = ["flush chain inet netpol_0a1b2c3d version", 'add rule inet netpol_0a1b2c3d version return comment "netpol:bb"'];
const i = (line: string) => line.replace(/ T /, ` inet ${T} `);

const incremental: [string, string, string[]][] = [
  ["nothing but the version", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"])), versionLines],
  ["an endpoint joins a set", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"])),
    [i("add element T s_1_v4 { 10.0.0.3 }"), ...versionLines]],
  ["an endpoint leaves a set", table("bb", set("s_1_v4", ["10.0.0.2"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"])),
    [i("delete element T s_1_v4 { 10.0.0.1 }"), ...versionLines]],
  ["a dispatch entry changes its comment: deleted and added again", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), map(['10.0.0.1 comment "web-9" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"])),
    [i("delete element T m_v4 { 10.0.0.1 }"), ...versionLines, i('add element T m_v4 { 10.0.0.1 comment "web-9" : jump t_a }')]],
  ["a chain's rule changes in place: flushed and rewritten", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 tcp dport 80 return", "drop"])),
    [i("flush chain T t_a"), i("add rule T t_a ip saddr @s_1_v4 tcp dport 80 return"), i("add rule T t_a drop"), ...versionLines]],
  ["a chain gains a rule: refilled in place (its comment does not count rules)", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 tcp dport 80 return", "ip saddr @s_1_v4 udp dport 53 return", "drop"])),
    [i("flush chain T t_a"), i("add rule T t_a ip saddr @s_1_v4 tcp dport 80 return"), i("add rule T t_a ip saddr @s_1_v4 udp dport 53 return"), i("add rule T t_a drop"), ...versionLines]],
  ["a new set, chain and entry: declared before they are referenced", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), set("s_2_v4", ["10.9.0.0/16"], 'type ipv4_addr\n\t\tflags interval\n\t\tcomment "net"'),
    map(['10.0.0.1 comment "web-1" : jump t_a', '10.0.0.7 comment "db-1" : jump t_b']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"]), chain("t_b", ["ip saddr @s_2_v4 return", "drop"], "other")),
    [i('add set T s_2_v4 { type ipv4_addr; flags interval; comment "net"; }'), i('add chain T t_b { comment "other"; }'), i("add element T s_2_v4 { 10.9.0.0/16 }"), ...versionLines,
      i("add rule T t_b ip saddr @s_2_v4 return"), i("add rule T t_b drop"), i('add element T m_v4 { 10.0.0.7 comment "db-1" : jump t_b }')]],
  ["a chain and its set go: entries first, then the emptied chain, then the set", table("bb", map([])),
    [i("delete element T m_v4 { 10.0.0.1 }"), ...versionLines, i("flush chain T t_a"), i("delete chain T t_a"), i("delete set T s_1_v4")]],
];

const full: [string, string, RegExp][] = [
  ["a set's comment changes", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"], 'type ipv4_addr\n\t\tcomment "stack db, IPv4 addresses"'), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"])), /set s_1_v4 changed its declaration/],
  ["a set's flags change", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"], 'type ipv4_addr\n\t\tflags interval\n\t\tcomment "stack web, IPv4 addresses"'), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"])), /set s_1_v4 changed/],
  ["a chain's comment changes (nft keeps an existing chain's comment)", table("bb", set("s_1_v4", ["10.0.0.1", "10.0.0.2"]), map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["ip saddr @s_1_v4 return", "drop"], "rancher network policy, else next tier")), /chain t_a changed its declaration/],
  ["the base chain changes", base.replace("ip daddr vmap @m_v4", "ip saddr vmap @m_v4"), /base chain forward changed/],
  ["a set becomes a chain", table("bb", map(['10.0.0.1 comment "web-1" : jump t_a']), chain("t_a", ["drop"]), chain("s_1_v4", ["drop"])), /s_1_v4 changed from a set to a chain/],
  ["another table", base.replace(T, "netpol_ffffffff"), /table changed/],
  ["a previous text that is not the renderer's", "flush ruleset\n", /previous rules are not the renderer's text/],
];

describe("nftDelta", () => {
  test.each(incremental)("%s", (_what, next, lines) => {
    const d = nftDelta(base, next);
    expect(d).toMatchObject({ kind: "incremental" });
    if (d.kind !== "incremental") return;
    expect(d.text.trimEnd().split("\n")).toEqual(lines);
    expect(() => validateNftDelta(T, d.text)).not.toThrow();
  });

  test.each(full)("full when %s", (_what, next, why) => {
    const d = nftDelta(next === "flush ruleset\n" ? next : base, next === "flush ruleset\n" ? base : next);
    expect(d).toEqual({ kind: "full", reason: expect.stringMatching(why) });
  });

  test.each([
    ["another table", "add element inet netpol_ffffffff s { 1.2.3.4 }"],
    ["a command the delta never writes", `flush table inet ${T}`],
    ["a ruleset flush", "flush ruleset"],
  ])("the delta guard refuses %s", (_what, line) => {
    expect(() => validateNftDelta(T, `${line}\n`)).toThrow(/is not a command on table inet netpol_0a1b2c3d/);
  });
});

// --- The oracle: a real nft in a namespace of this test's own. ---

const root = process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v nft && command -v ip"]).status === 0;
if (!root && process.env.CI === "true") throw new Error("nft-delta oracle: needs root, nft and ip (CI=true)");
const NS = `netpol-delta-${process.pid}`;

function nft(args: string[], input?: string): string {
  const r = spawnSync("ip", ["netns", "exec", NS, "nft", ...args], { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`nft ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** A listing, order-free: blocks by name, each with its lines in order and its elements sorted. */
function canonicalListing(text: string): string {
  const blocks: string[] = [];
  let current: string[] = [];
  let elements: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (elements !== undefined) {
      elements += ` ${line}`;
      if (!/\}$/.test(line)) continue;
      const items = splitOutsideQuotes(elements.replace(/^elements = \{/, "").replace(/\}$/, ""));
      current.push(`elements: ${items.sort().join(" | ")}`);
      elements = undefined;
      continue;
    }
    if (/^(set|map|chain) /.test(line)) current = [line];
    else if (line.startsWith("elements = {")) {
      elements = line;
      if (/\}$/.test(line)) {
        current.push(`elements: ${splitOutsideQuotes(line.replace(/^elements = \{/, "").replace(/\}$/, "")).sort().join(" | ")}`);
        elements = undefined;
      }
    } else if (line === "}" && current.length > 0) {
      blocks.push(current.join("\n"));
      current = [];
    } else if (line !== "" && current.length > 0) current.push(line);
  }
  return blocks.sort().join("\n\n");
}

function splitOutsideQuotes(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let item = "";
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      out.push(item.trim());
      item = "";
    } else item += c;
  }
  if (item.trim() !== "") out.push(item.trim());
  return out;
}

const replace = (tableName: string, text: string) => `table inet ${tableName}\ndelete table inet ${tableName}\n${text}`;

(root ? describe : describe.skip)("the oracle: previous + delta lists as the new table in full", () => {
  beforeAll(() => {
    const r = spawnSync("ip", ["netns", "add", NS]);
    if (r.status !== 0) throw new Error(`ip netns add ${NS}: ${r.stderr}`);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
  });

  test("over 80 random model changes on two hosts", () => {
    let applied = 0;
    for (let seed = 0; seed < 40; seed++) {
      const r = rng(seed);
      const before = randomModel(r);
      const after = changeModel(r, before);
      for (const host of ["h1", "h2"]) {
        const prev = renderHost(compile(parseModelText(modelText(before))), host);
        const next = renderHost(compile(parseModelText(modelText(after))), host);
        const d = nftDelta(prev.nft ?? "", next.nft ?? "");
        if (d.kind !== "incremental" || d.text === "") continue;
        validateNftDelta(next.table, d.text);
        nft(["-f", "-"], replace(next.table, next.nft ?? ""));
        const whole = canonicalListing(nft(["list", "table", "inet", next.table]));
        nft(["-f", "-"], replace(prev.table, prev.nft ?? ""));
        nft(["-c", "-f", "-"], d.text);
        nft(["-f", "-"], d.text);
        const stepped = canonicalListing(nft(["list", "table", "inet", next.table]));
        expect({ seed, host, listing: stepped }).toEqual({ seed, host, listing: whole });
        applied++;
      }
      spawnSync("ip", ["netns", "exec", NS, "nft", "delete", "table", "inet", renderHost(compile(parseModelText(modelText(after))), "h1").table]);
    }
    // Most small changes are incremental: 77 of these 80 deltas, 66 of them not empty (60 of 80
    // while chain comments counted rules, so that an added or removed rule replaced the table);
    // the rest are full by design (a chain's tier or tail changed, the base chain changed).
    expect(applied).toBeGreaterThanOrEqual(60);
  }, 120_000);
});
