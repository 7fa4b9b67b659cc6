/**
 * The Network's `access` input: who may reach whom, which the preview diffs line by line before
 * the rules (opened connections as +, closed as -), for its own policy and for the documents it
 * enforces; what is unknown during preview is named, not guessed.
 */
import { ACCESS_HEADER } from "../../provider/analyze/access";
import { checkNetwork, diffNetwork } from "../../provider/resources/network-operations";
import { COMPUTED, UNKNOWN } from "../../provider/resources/inputs";
import { networkInputs, SECRETS } from "./fixtures";

const accessOf = (change: Record<string, unknown> = {}) => {
  const { inputs, failures } = checkNetwork(networkInputs(change));
  expect(failures).toEqual([]);
  return String(inputs.access).split("\n");
};

/** Lines only in `after` (+) and only in `before` (-), as a line diff shows them. */
const changed = (before: string[], after: string[]) => [
  ...after.filter((l) => !before.includes(l)).map((l) => `+ ${l}`),
  ...before.filter((l) => !after.includes(l)).map((l) => `- ${l}`),
];

const WEB_PROFILE = { id: "WEB", inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80] }], outbound_rules: [{ action: "allow" }] };
const withWeb = (profile: Record<string, unknown>) => ({
  endpoints: (networkInputs().endpoints as Record<string, unknown>[]).map((e) => (e.name === "web-1" ? { ...e, profiles: ["WEB"] } : e)),
  profiles: [profile],
});

describe("the Network's access input", () => {
  it("lists who may reach whom, with no secret in it", () => {
    const { inputs } = checkNetwork(networkInputs());
    expect(inputs.access).toBe([
      ACCESS_HEADER,
      "web-1, db-1 (2 endpoints) → web-1, db-1 (2 endpoints): all traffic",
      "web-1, db-1 (2 endpoints) → admin-1: other protocols",
      "admin-1 → web-1, db-1 (2 endpoints): other protocols",
    ].join("\n"));
    for (const s of SECRETS) expect(String(inputs.access)).not.toContain(s);
  });

  it("a Rancher rule that opens a port: the flows it opens are + lines", () => {
    const opened = accessOf({ policy: [{ within: "stack", action: "allow" }, { to: { selector: "tier = db" }, ports: ["5432/tcp"], action: "allow" }] });
    // db-1 leaves web-1's group (admin-1 now reaches it on tcp/5432), so the group's lines are rewritten per endpoint.
    expect(changed(accessOf(), opened)).toEqual([
      "+ web-1 → db-1: all traffic",
      "+ db-1 → web-1: all traffic",
      "+ admin-1 → web-1: other protocols",
      "+ admin-1 → db-1: tcp/5432, other protocols",
      "- web-1, db-1 (2 endpoints) → web-1, db-1 (2 endpoints): all traffic",
      "- admin-1 → web-1, db-1 (2 endpoints): other protocols",
    ]);
  });

  it("the same policy written again changes no line", () => {
    expect(accessOf({ policy: [{ within: "stack", action: "allow" }, { within: "stack", action: "allow" }] })).toEqual(accessOf());
  });

  it("a change to a Profile document the network enforces changes its lines", () => {
    const before = accessOf(withWeb(WEB_PROFILE));
    const after = accessOf(withWeb({ ...WEB_PROFILE, inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [80, 443] }] }));
    expect(changed(before, after)).toEqual([
      "+ db-1 → web-1: tcp/80, tcp/443, other protocols",
      "- db-1 → web-1: tcp/80, other protocols",
    ]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["an unknown endpoint address", { endpoints: [{ name: "w", host: "h1", ips: [UNKNOWN] }] }, "endpoints[0].ips[0]"],
    ["an unknown profile document", { profiles: [UNKNOWN] }, "profiles[0]"],
    ["unknown endpoints", { endpoints: UNKNOWN }, "endpoints"],
  ])("%s is named, not guessed", (_what, change, path) => {
    const { inputs, failures } = checkNetwork(networkInputs(change));
    expect(failures).toEqual([]);
    expect(inputs.access).toBe(`${COMPUTED}: who may reach whom depends on values not known yet: ${path}`);
  });

  it("a state written before access existed is no change", () => {
    const news = checkNetwork(networkInputs()).inputs;
    const { access: _a, ...olds } = news;
    const host = { backend: "nftables", table: "t", hash: "h", live: "l" };
    expect(diffNetwork({ ...olds, applied: { h1: host, h2: host } }, news).changes).toBe(false);
  });
});
