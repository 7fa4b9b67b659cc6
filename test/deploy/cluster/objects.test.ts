/** The comparison of a desired object with a live one, field by field. */
import { fieldChanges } from "../../../provider/deploy/cluster/objects";

describe("fieldChanges", () => {
  it.each<[string, unknown, unknown, string[]]>([
    ["equal", { a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }, []],
    // Server defaults are kept out before this (comparedViews projects Calico specs): here a key on one side only is a change.
    ["a key on the live side only", { spec: { ingress: [{ action: "Allow" }] } }, { spec: { ingress: [{ action: "Allow" }], types: ["Ingress"] } }, ['spec.types: (none) → ["Ingress"]']],
    ["a changed value", { spec: { order: 10 } }, { spec: { order: 20 } }, ["spec.order: 10 → 20"]],
    ["a missing value", { spec: { selector: "all()" } }, { spec: {} }, ['spec.selector: "all()" → (none)']],
    ["a rule added by hand", { rules: [{ a: 1 }] }, { rules: [{ a: 1 }, { a: 2 }] }, ['rules: [{"a":1}] → [{"a":1},{"a":2}]']],
    ["an element changed", { rules: [{ a: 1 }, { a: 2 }] }, { rules: [{ a: 1 }, { a: 3 }] }, ["rules[1].a: 2 → 3"]],
  ])("%s", (_what, desired, live, expected) => {
    expect(fieldChanges(desired, live)).toEqual(expected);
  });
});

