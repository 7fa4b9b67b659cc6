import { gzipSync } from "zlib";
import { decodePolicy, encodePolicy, groupByPolicy } from "../../../provider/deploy/hosts/policy-record";
import { compiledExample } from "../../support/models";

describe("the policy a host's record keeps", () => {
  const ps = compiledExample("calico-web-app.yaml");

  test("reads back as the same policy set, on one line", () => {
    const text = encodePolicy(ps);
    expect(text).not.toContain("\n");
    expect(decodePolicy(text)).toEqual(ps);
  });

  test.each<[string, string, RegExp]>([
    ["another format", "netpol-policy-9 AAAA", /in another format \(netpol-policy-9\), written by another version of netpol/],
    ["an empty file", "", /in another format/],
    ["damaged data", "netpol-policy-1 bm90IGd6aXA=", /cannot be read \(/],
    ["not a policy set", `netpol-policy-1 ${gzipSync(JSON.stringify({ endpoints: [] })).toString("base64")}`, /is not a policy set/],
  ])("%s: says why it cannot be read", (_what, text, reason) => {
    expect(decodePolicy(text)).toMatch(reason);
  });

  test("hosts are grouped by the policy they record, in the order given", () => {
    expect(groupByPolicy([{ host: "h1", policy: "a" }, { host: "h2" }, { host: "h3", policy: "a" }, { host: "h4", policy: "b" }])).toEqual([
      { hosts: ["h1", "h3"], policy: "a" },
      { hosts: ["h2"] },
      { hosts: ["h4"], policy: "b" },
    ]);
  });
});
