import { propertyDiff, formatResult } from "../../test/engine/view";
import { DeployResult } from "../../test/engine/deploy";
import { Json, makeSecret, UNKNOWN } from "../../test/engine/values";

describe("propertyDiff", () => {
  it.each<[string, Json, Json, string[]]>([
    ["same", { a: 1 }, { a: 1 }, []],
    ["scalar change", { a: 1 }, { a: 2 }, ["~ a: 1 => 2"]],
    ["added and removed keys", { a: 1 }, { b: "x" }, ["- a: 1", '+ b: "x"']],
    ["nested path", { p: [{ ports: [80] }] }, { p: [{ ports: [80, 443] }] }, ["+ p[0].ports[1]: 443"]],
    ["secret change shows no value", { k: makeSecret("old-secret") }, { k: makeSecret("new-secret") }, ["~ k: [secret] => [secret]"]],
    ["unknown", { c: "x" }, { c: UNKNOWN }, ['~ c: "x" => (computed)']],
    ["multi-line strings diffed by line", { r: { h1: "a\nb\nc" } }, { r: { h1: "a\nB\nc" } }, ["~ r.h1:", "      a", "    - b", "    + B", "      c"]],
    ["single line to multi-line: summary", { r: "(drifted: x)" }, { r: "a\nb" }, ['~ r: "(drifted: x)" => (2 lines)']],
    ["keys needing quotes", { l: { "com.rancher/x": "a" } }, { l: { "com.rancher/x": "b" } }, ['~ l["com.rancher/x"]: "a" => "b"']],
    ["hidden __ keys at the top", { __provider: "a" }, { __provider: "b" }, []],
  ])("%s", (_what, before, after, expected) => {
    expect(propertyDiff(before, after)).toEqual(expected);
  });
});

describe("formatResult", () => {
  const result: DeployResult = {
    op: "preview", project: "p", stack: "dev", errors: [], durationMs: 1500, outputs: { token: makeSecret("s3cr3t-value") },
    steps: [
      { op: "create", urn: "u1", type: "t:x:A", name: "a", after: { pw: makeSecret("s3cr3t-value"), rules: { h1: "x\ny" } } },
      { op: "update", urn: "u2", type: "t:x:B", name: "b", before: { n: 1 }, after: { n: 2 } },
      { op: "same", urn: "u3", type: "t:x:C", name: "c" },
    ],
  };
  it("prints steps, counts and no secret", () => {
    const text = formatResult(result);
    expect(text).toContain(" +  t:x:A  a  create\n       + pw: [secret]\n       + rules.h1: (2 lines)");
    expect(text).toContain(" ~  t:x:B  b  update\n       ~ n: 1 => 2");
    expect(text).toContain("    + 1 to create\n    ~ 1 to update\n    1 unchanged");
    expect(text).toContain("token: [secret]");
    expect(text).not.toContain("s3cr3t-value");
  });
});
