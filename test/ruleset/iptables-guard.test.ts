/**
 * The iptables guard is an allow-list: restore texts that touch anything but the project's own
 * chains and sets are refused before anything is sent; what the renderer writes passes.
 */
import { IptablesRuleset, ownership, validateIptablesTexts, validateRuleset } from "../../provider/ruleset";
import { validateIpsetText, validateRestoreText } from "../../provider/ruleset/iptables-guard";
import { renderedFleet, renderedSeeds } from "./support";

const T = "netpol_0a1b2c3d";
const E = "NETPOL_0A1B2C3D";
const H = "ab12cd34ef56ab12";
const family = (rules: string[]) => ["*filter", `:${E} - [0:0]`, `:${E}_T1 - [0:0]`, `:${E}_HASH - [0:0]`, ...rules, `-A ${E}_HASH -m comment --comment "netpol:${H}"`, "COMMIT", ""].join("\n");
const texts = (v4: string[] = [], extra: Partial<IptablesRuleset> = {}): IptablesRuleset => ({
  ipset: `create ${T}_s1_4 hash:ip family inet maxelem 65536 -exist\nflush ${T}_s1_4\nadd ${T}_s1_4 10.0.0.1\n`,
  v4: family(v4),
  v6: family([]),
  entryChain: E,
  ...extra,
});

const hostile: [string, IptablesRuleset, RegExp][] = [
  ["a rule appended to FORWARD", texts(["-A FORWARD -j ACCEPT"]), /appends to a chain that is not an own chain/],
  ["a policy change of a built-in chain", texts([":FORWARD ACCEPT [0:0]"]), /is not a declaration or an -A rule/],
  ["a jump to another tool's chain", texts([`-A ${E} -j DOCKER-USER`]), /target "DOCKER-USER" is neither a verdict nor an own chain/],
  ["a goto to a built-in chain", texts([`-A ${E} -g INPUT`]), /goto "INPUT" is not an own chain/],
  ["a flush of another chain", texts(["-F OTHERTOOL"]), /is not a declaration or an -A rule/],
  ["a delete of another chain", texts(["-X OTHERTOOL"]), /is not a declaration or an -A rule/],
  ["an insert into INPUT", texts(["-I INPUT 1 -j DROP"]), /is not a declaration or an -A rule/],
  ["a second table after COMMIT", { ...texts(), v4: `${family([])}*nat\n-A PREROUTING -j DNAT --to 10.0.0.9\nCOMMIT\n` }, /follows COMMIT/],
  ["own rules after COMMIT", { ...texts(), v4: `${family([])}-A ${E} -j DROP\n` }, /follows COMMIT/],
  ["the nat table", { ...texts(), v4: family([]).replace("*filter", "*nat") }, /is not "\*filter"/],
  ["no COMMIT", { ...texts(), v4: family([]).replace("COMMIT\n", "") }, /ending in COMMIT/],
  ["another tool's set", texts([`-A ${E} -m set --match-set othertool_allow src -j DROP`]), /set "othertool_allow" is not an own set/],
  ["an option this project never writes", texts([`-A ${E} --no-such-option -j DROP`]), /option "--no-such-option" is not one/],
  ["a table switch inside a rule", texts([`-A ${E} -t nat -j DROP`]), /option "-t" is not one/],
  ["a module this project never uses", texts([`-A ${E} -m string --string x -j DROP`]), /module "string"/],
  ["a shell-looking value", texts([`-A ${E} -s $(reboot) -j DROP`]), /holds characters/],
  ["an unclosed quote", texts([`-A ${E} -j LOG --log-prefix "netpol`]), /is not a declaration or an -A rule/],
  ["a comment that is not quoted", texts([`-A ${E} -m comment --comment hello -j DROP`]), /a comment is double-quoted text/],
  ["a comment that spoofs the hash", texts([`-A ${E} -m comment --comment "netpol:ffff" -j DROP`]), /a comment is double-quoted text/],
  ["the hash comment outside the hash chain", texts([`-A ${E} -m comment --comment "netpol:${H}"`]), /the hash netpol:.* is the one rule of NETPOL_0A1B2C3D_HASH/],
  ["the hash comment with a verdict", texts([`-A ${E}_HASH -m comment --comment "netpol:${H}" -j DROP`]), /is not the one rule of the hash chain/],
  ["another rule in the hash chain", texts([`-A ${E}_HASH -j DROP`]), /is not the one rule of the hash chain/],
  ["a comment holding a shell word", texts([`-A ${E} -m comment --comment "$(reboot)" -j DROP`]), /a comment is double-quoted text/],
  ["a comment that ends early and jumps elsewhere", texts([`-A ${E} -m comment --comment "a" -j DOCKER-USER "b"`]), /target "DOCKER-USER"/],
  ["a comment with a backslash escape", texts([`-A ${E} -m comment --comment "a\\" -j ACCEPT" -j DROP`]), /is not a declaration or an -A rule|a comment is double-quoted text/],
  ["two targets", texts([`-A ${E} -j DROP -j ACCEPT`]), /more than one target/],
  ["no hash comment", { ...texts(), v6: ["*filter", `:${E} - [0:0]`, "COMMIT", ""].join("\n") }, /must carry the rule/],
  ["a chain removal outside a delta", texts([`-X ${E}_T1`]), /is not a declaration or an -A rule/],
  ["an ipset del outside a delta", texts([], { ipset: `del ${T}_s1_4 10.0.0.1\n` }), /uses "del": only create, flush and add lines/],
  ["an ipset destroy", texts([], { ipset: "destroy othertool_allow\n" }), /does not name an own set/],
  ["an ipset destroy of our own set", texts([], { ipset: `destroy ${T}_s1_4\n` }), /uses "destroy": only create, flush and add lines/],
  ["an ipset swap", texts([], { ipset: `swap ${T}_s1_4 ${T}_s2_4\n` }), /only create, flush and add lines/],
  ["an ipset add to another tool's set", texts([], { ipset: "add othertool_allow 10.0.0.1\n" }), /does not name an own set/],
  ["an ipset create of a foreign type", texts([], { ipset: `create ${T}_s1_4 list:set\n` }), /type this project does not use/],
  ["an ipset create option this project never uses", texts([], { ipset: `create ${T}_s1_4 hash:ip timeout 1\n` }), /create option "timeout"/],
  ["an ipset add of two members", texts([], { ipset: `create ${T}_s1_4 hash:ip\nadd ${T}_s1_4 10.0.0.1 nomatch\n` }), /not one address or prefix/],
];

test.each(hostile)("refused: %s", (_what, ruleset, says) => {
  expect(() => validateIptablesTexts(T, H, ruleset)).toThrow(says);
});

test("accepted: a hand-written text of the renderer's shapes", () => {
  const rules = [
    `-A ${E} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${E} -s 10.0.0.1/32 -m comment --comment "shop/db-1" -j ${E}_T1`,
    `-A ${E}_T1 -p tcp -m set ! --match-set ${T}_s1_4 src -m multiport ! --dports 22,80:90 -j RETURN`,
    `-A ${E}_T1 -p icmp -m icmp ! --icmp-type 8/0 -j LOG --log-prefix "netpol calico "`,
    `-A ${E}_T1 -g ${E}_T1`,
    `-A ${E}_T1 -j DROP`,
  ];
  expect(() => validateIptablesTexts(T, H, texts(rules))).not.toThrow();
});

test.each(renderedSeeds("iptables"))("accepted: %s, as rendered for host %s", (_file, _host, ruleset) => {
  expect(() => validateRuleset(ruleset)).not.toThrow();
});

test("accepted: every host of a generated fleet of 1,000 endpoints (hash-named sets and chains)", () => {
  for (const ruleset of renderedFleet("iptables")) expect(() => validateRuleset(ruleset)).not.toThrow();
});

describe("delta texts (iptables-delta.ts) admit -X of tier chains and ipset del/destroy, nothing more", () => {
  const own = ownership(T, E);
  const restore = (lines: string[]) => ["*filter", ...lines, "COMMIT", ""].join("\n");
  test.each([
    ["-X of the entry chain", restore([`-X ${E}`]), /removes a chain that is not an own tier chain/],
    ["-X of the hash chain", restore([`-X ${E}_HASH`]), /removes a chain that is not an own tier chain/],
    ["-X of another tool's chain", restore(["-X DOCKER-USER"]), /removes a chain that is not an own tier chain/],
    ["-F of an own chain", restore([`-F ${E}_T1`]), /is not a declaration or an -A rule/],
  ])("refused: %s", (_what, text, says) => {
    expect(() => validateRestoreText("v4", text, H, own, { delta: true })).toThrow(says);
  });
  test("accepted: a declared, refilled and a removed tier chain", () => {
    const text = restore([`:${E}_T1 - [0:0]`, `:${E}_T2 - [0:0]`, `-A ${E}_T1 -j DROP`, `-X ${E}_T2`]);
    expect(() => validateRestoreText("v4", text, H, own, { delta: true })).not.toThrow();
  });
  test.each([
    ["destroy of another tool's set", "destroy othertool_allow\n", /does not name an own set/],
    ["del of two words", `del ${T}_s1_4 10.0.0.1 nomatch\n`, /not one address or prefix/],
    ["destroy with options", `destroy ${T}_s1_4 now\n`, /words after the set name/],
    ["swap", `swap ${T}_s1_4 ${T}_s2_4\n`, /and del and destroy/],
  ])("refused: ipset %s", (_what, text, says) => {
    expect(() => validateIpsetText(text, own, { delta: true })).toThrow(says);
  });
  test("accepted: ipset del and destroy of own sets", () => {
    expect(() => validateIpsetText(`del ${T}_s1_4 10.0.0.1\ndestroy ${T}_s2_4\n`, own, { delta: true })).not.toThrow();
  });
});
