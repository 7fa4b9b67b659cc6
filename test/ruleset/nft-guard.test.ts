/**
 * The nft guard is an allow-list: hostile texts that `nft -c` accepts (so the kernel would run
 * them) are refused before anything is sent; what the renderer writes passes.
 */
import { validateNftText } from "../../provider/ruleset/nft-guard";
import { validateRuleset } from "../../provider/ruleset";
import { nftCheck, toolsAvailable } from "../render/support";
import { renderedFleet, renderedSeeds } from "./support";

const T = "netpol_0a1b2c3d";
const H = "ab12cd34ef56ab12";
const version = (rule = `return comment "netpol:${H}"`) => `\tchain version {\n\t\tcomment "the version"\n\t\t${rule}\n\t}\n`;
const head = `table inet ${T} {\n${version()}`;
const chain = (rules: string) => `\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n${rules}\n\t}\n`;
const good = `${head}\tset s_1_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tcomment "stack web, IPv4: 2 networks"\n\t\telements = {\n\t\t\t10.0.0.0/8,\n\t\t\t10.1.0.1\n\t\t}\n\t}\n`
  + `\tmap m_v4 {\n\t\ttype ipv4_addr : verdict\n\t\tcomment "rancher ingress dispatch"\n\t\telements = {\n\t\t\t10.0.0.1 comment "shop/db-1, shop/db-2" : drop\n\t\t}\n\t}\n`
  + `${chain('\t\tcomment "calico profile WEB, 1 rule: profiles[0].inbound_rules[0] from calico selector role == \'db\'; else drop: e"\n\t\tip saddr @s_1_v4 tcp dport { 80, 443 } drop')}}\n`;

const hostile: [string, string, RegExp][] = [
  ["a ruleset flush after the block's closing brace", `${head}${chain("\t\tdrop")}}; flush ruleset\n`, /line \d+: "\}; flush ruleset" is not a comment, set, map or chain/],
  ["a ruleset flush on its own line after the block", `${head}${chain("\t\tdrop")}}\nflush ruleset\n`, /nothing may follow the table block/],
  ["another table after ours", `${head}}\ntable ip othertool {\n\tchain c {\n\t\tdrop\n\t}\n}\n`, /nothing may follow the table block/],
  ["a delete of another table after ours", `${head}}\ndelete table inet othertool\n`, /nothing may follow the table block/],
  ["another table's rules after ours", `${head}}\nadd rule inet othertool input drop\n`, /nothing may follow the table block/],
  ["a statement after ; in a rule", `${head}${chain("\t\tdrop; flush ruleset")}}\n`, /holds characters a rule of this project never has/],
  ["a rule that closes the chain and the table", `${head}${chain("\t\tdrop } } table ip x { chain y { drop }")}}\n`, /closes a block/],
  ["a flush of another table inside ours", `${head}\tflush table inet othertool\n}\n`, /is not a comment, set, map or chain/],
  ["an include", `include "/etc/nftables.conf"\n${head}}\n`, /is not "table inet netpol_0a1b2c3d \{"/],
  ["a define and a variable", `define X = 1\n${head}}\n`, /is not "table inet/],
  ["a second version chain that hides the real one", `${head}${version()}}\n`, /chain version exactly once \(found 2\)/],
  ["no version chain", `table inet ${T} {\n}\n`, /exactly once \(found 0\)/],
  ["the hash as the table's comment (where nft would keep it)", `table inet ${T} {\n\tcomment "netpol:${H}"\n}\n`, /is not a comment, set, map or chain/],
  ["another hash in the version chain", `table inet ${T} {\n${version('return comment "netpol:ffff"')}}\n`, /is not a line of the version chain/],
  ["a second rule in the version chain", `table inet ${T} {\n${version(`return comment "netpol:${H}"\n\t\tdrop`)}}\n`, /"drop" is not a line of the version chain/],
  ["a hook on the version chain", `table inet ${T} {\n${version(`type filter hook forward priority filter; policy drop;\n\t\treturn comment "netpol:${H}"`)}}\n`, /is not a line of the version chain/],
  ["the hash rule twice", `table inet ${T} {\n${version(`return comment "netpol:${H}"\n\t\treturn comment "netpol:${H}"`)}}\n`, /return comment "netpol:ab12cd34ef56ab12" exactly once \(found 2\)/],
  ["the hash rule in another chain", `table inet ${T} {\n\tchain c {\n\t\treturn comment "netpol:${H}"\n\t}\n}\n`, /holds characters/],
  ["another table's name", `table inet netpol_ffffffff {\n${version()}}\n`, /is not "table inet netpol_0a1b2c3d \{"/],
  ["another family", `table ip ${T} {\n${version()}}\n`, /is not "table inet/],
  ["a block left open", `${head}${chain("\t\tdrop").replace(/\t\}\n$/, "")}`, /ends inside table inet/],
  ["a quoted string other than the log prefix", `${head}${chain('\t\tmeta mark set 1 comment "x"; flush ruleset')}}\n`, /holds characters/],
  ["a rule word that writes elsewhere", `${head}${chain("\t\tadd @s_1_v4 { ip saddr }")}}\n`, /uses "add"/],
  ["a set element that is a statement", `${head}\tset s_1_v4 {\n\t\ttype ipv4_addr\n\t\telements = {\n\t\t\t10.0.0.1 }; flush ruleset; set x {\n\t\t}\n\t}\n}\n`, /is not a set or map element/],
  ["a set comment followed by a statement", `${head}\tset s_1_v4 {\n\t\ttype ipv4_addr\n\t\tcomment "x"; flush ruleset\n\t}\n}\n`, /is not a line of a set declaration/],
  ["a chain comment that closes the table inside its quotes", `${head}${chain('\t\tcomment "x } } table ip y {"')}}\n`, /a comment with characters the renderer never writes/],
  ["a comment that spoofs the hash", `${head}${chain(`\t\tcomment "netpol:${H}"`)}}\n`, /a comment with characters the renderer never writes/],
  ["a comment on the table other than the hash", `${head}\tcomment "hello"\n}\n`, /is not a comment, set, map or chain/],
  ["an element comment that closes the elements", `${head}\tmap m_v4 {\n\t\ttype ipv4_addr : verdict\n\t\telements = {\n\t\t\t10.0.0.1 comment "a" }; flush ruleset; map x {\n\t\t}\n\t}\n}\n`, /is not a set or map element/],
  ["an element comment followed by a second element with another verdict", `${head}\tmap m_v4 {\n\t\ttype ipv4_addr : verdict\n\t\telements = {\n\t\t\t10.0.0.1 comment "a" : accept, 10.0.0.2 comment "b" : jump x\n\t\t}\n\t}\n}\n`, /is not a set or map element/],
  ["an element comment with a brace", `${head}\tmap m_v4 {\n\t\ttype ipv4_addr : verdict\n\t\telements = {\n\t\t\t10.0.0.1 comment "a}" : drop\n\t\t}\n\t}\n}\n`, /element whose comment has characters/],
  ["an unknown line in a set", `${head}\tset s_1_v4 {\n\t\ttype ipv4_addr\n\t\tpolicy memory\n\t}\n}\n`, /is not a line of a set declaration/],
];

describe("refused", () => {
  test.each(hostile)("%s", (_what, text, says) => {
    expect(() => validateNftText(T, H, text)).toThrow(says);
  });

  // The guard matters because the kernel would take these: nft -c accepts the worst of them.
  (toolsAvailable("nft") ? test : test.skip)("nft -c itself accepts the ruleset flush and the second table", () => {
    expect(nftCheck(`${head}${chain("\t\tdrop")}}; flush ruleset\n`)).toBe("");
    expect(nftCheck(`${head}}\ntable ip othertool {\n\tchain c {\n\t\tdrop\n\t}\n}\n`)).toBe("");
  });
});

describe("accepted", () => {
  test("a hand-written table of the renderer's shapes", () => {
    expect(() => validateNftText(T, H, good)).not.toThrow();
  });

  test("names whose hex digits spell a refused word (add, in @s_fa325f75add6_v4 and t_add…)", () => {
    const named = `${head}\tset s_fa325f75add6_v4 {\n\t\ttype ipv4_addr\n\t}\n\tchain t_add000000000 {\n\t\treturn\n\t}\n${chain("\t\tmeta nfproto ipv4 ip saddr @s_fa325f75add6_v4 goto t_add000000000")}}\n`;
    expect(() => validateNftText(T, H, named)).not.toThrow();
  });

  test.each(renderedSeeds("nftables"))("%s, as rendered for host %s", (_file, _host, ruleset) => {
    expect(() => validateRuleset(ruleset)).not.toThrow();
  });
});

test("accepted: every host of a generated fleet of 1,000 endpoints (hash-named sets and chains)", () => {
  for (const ruleset of renderedFleet("nftables")) expect(() => validateRuleset(ruleset)).not.toThrow();
});
