import {
  isLabelKey, isLabelValue, LabelSelector, Labels, matchesLabelSelector, matchesSelector, parseCalicoSelector,
  parseStringSelector, SelectorAst, SelectorSyntaxError,
} from "../../provider/model/selectors";

const WEB: Labels = { role: "web", tier: "frontend", "example.com/team": "blue", env: "prod-eu" };
const DB: Labels = { role: "db", tier: "backend" };
const BARE: Labels = {};

function syntaxError(parse: () => unknown): SelectorSyntaxError {
  try {
    parse();
  } catch (e) {
    if (e instanceof SelectorSyntaxError) return e;
    throw e;
  }
  throw new Error("expected a SelectorSyntaxError");
}

describe("parseCalicoSelector + matchesSelector", () => {
  // [selector, matches WEB, matches DB, matches BARE]
  const CASES: [string, boolean, boolean, boolean][] = [
    ["role == 'web'", true, false, false],
    ['role == "web"', true, false, false],
    ["role != 'web'", false, true, true],
    ["role in {'web', 'db'}", true, true, false],
    ["role in {}", false, false, false],
    ["role not in {'web'}", false, true, true],
    ["role not in {}", true, true, true],
    ["has(role)", true, true, false],
    ["has(example.com/team)", true, false, false],
    ["example.com/team == 'blue'", true, false, false],
    ["!has(role)", false, false, true],
    ["!(role == 'web')", false, true, true],
    ["!!has(role)", true, true, false],
    ["role == 'web' && tier == 'frontend'", true, false, false],
    ["role == 'web' && tier == 'backend'", false, false, false],
    ["role == 'web' || tier == 'backend'", true, true, false],
    ["all()", true, true, true],
    ["", true, true, true],
    ["   ", true, true, true],
    ["!all()", false, false, false],
    // && binds tighter than ||: a || (b && c), not (a || b) && c.
    ["role == 'db' || role == 'web' && tier == 'backend'", false, true, false],
    ["(role == 'db' || role == 'web') && tier == 'backend'", false, true, false],
    ["(role == 'db' || role == 'web') && tier == 'frontend'", true, false, false],
    ["role == 'web' && tier == 'x' || has(role) && !has(env)", false, true, false],
    ["  role=='web'&&(tier!='backend')\t", true, false, false],
    ["env contains 'od-'", true, false, false],
    ["env starts with 'prod'", true, false, false],
    ["env ends with '-eu'", true, false, false],
    ["env ends with 'prod'", false, false, false],
    // Names on Object.prototype are not labels.
    ["toString contains 'x'", false, false, false],
    ["has(constructor)", false, false, false],
    ["constructor not in {'a'}", true, true, true],
  ];

  it.each(CASES)("%s → web %s, db %s, bare %s", (sel, web, db, bare) => {
    const ast = parseCalicoSelector(sel);
    expect([matchesSelector(ast, WEB), matchesSelector(ast, DB), matchesSelector(ast, BARE)]).toEqual([web, db, bare]);
  });

  const eq = (key: string, value: string): SelectorAst => ({ kind: "eq", key, value });
  it.each<[string, SelectorAst]>([
    ["a == 'x' || b == 'y' && c == 'z'", { kind: "or", left: eq("a", "x"), right: { kind: "and", left: eq("b", "y"), right: eq("c", "z") } }],
    ["a == 'x' && b == 'y' || c == 'z'", { kind: "or", left: { kind: "and", left: eq("a", "x"), right: eq("b", "y") }, right: eq("c", "z") }],
    ["a == 'x' && b == 'y' && c == 'z'", { kind: "and", left: { kind: "and", left: eq("a", "x"), right: eq("b", "y") }, right: eq("c", "z") }],
    ["!a == 'x' && b == 'y'", { kind: "and", left: { kind: "not", expr: eq("a", "x") }, right: eq("b", "y") }],
    ["a in {'x', \"y\"}", { kind: "in", key: "a", values: ["x", "y"] }],
    ["a not in {'x'}", { kind: "notIn", key: "a", values: ["x"] }],
    ["has( a )", { kind: "has", key: "a" }],
    ["all ( )", { kind: "all" }],
    ["a == ''", eq("a", "")],
    ["a == 'x && y'", eq("a", "x && y")],
  ])("parses %s", (sel, ast) => expect(parseCalicoSelector(sel)).toEqual(ast));

  // [selector, column, detail]
  it.each<[string, number, string]>([
    ["role == ", 9, "expected a quoted value, found end of selector"],
    ["role = 'x'", 6, 'unexpected character "="'],
    ["role == 'x", 9, "unterminated string"],
    ['role == "x', 9, "unterminated string"],
    ["role == web", 9, 'expected a quoted value, found "web"'],
    ["role", 5, "found end of selector"],
    ["role == 'x' &&", 15, "expected a label key, found end of selector"],
    ["role == 'x' && && b == 'y'", 16, 'expected a label key, found "&&"'],
    ["(role == 'x'", 13, 'expected ")", found end of selector'],
    ["role == 'x')", 12, 'expected "&&", "||" or end of selector, found ")"'],
    ["role == 'x' b == 'y'", 13, 'expected "&&", "||" or end of selector, found "b"'],
    ["has(role", 9, 'expected ")"'],
    ["has('role')", 5, 'expected a label key, found "role"'],
    ["all(x)", 5, 'expected ")", found "x"'],
    ["role in {'a' 'b'}", 14, 'expected "}", found "b"'],
    ["role in {'a',}", 14, 'expected a quoted value, found "}"'],
    ["role in 'a'", 9, 'expected "{"'],
    ["role not {'a'}", 10, 'expected "in" after "not"'],
    ["role starts 'a'", 13, 'expected "with"'],
    ["role == 'x' & b", 13, 'unexpected character "&"'],
    ["role == 'x' # c", 13, 'unexpected character "#"'],
    ["-role == 'x'", 1, "expected a label key"],
  ])("%s → column %d: %s", (sel, column, detail) => {
    const e = syntaxError(() => parseCalicoSelector(sel));
    expect(e.column).toBe(column);
    expect(e.detail).toContain(detail);
    expect(e.message).toBe(`column ${column}: ${e.detail} in selector "${sel}"`);
  });
});

describe("parseStringSelector", () => {
  it.each<[string, LabelSelector]>([
    ["role = web", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "In", values: ["web"] }] }],
    ["role==web", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "In", values: ["web"] }] }],
    ["role != web", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "NotIn", values: ["web"] }] }],
    ["role in (web, db)", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "In", values: ["web", "db"] }] }],
    ["role notin (web)", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "NotIn", values: ["web"] }] }],
    ["role", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "Exists" }] }],
    ["! role", { matchLabels: {}, matchExpressions: [{ key: "role", operator: "DoesNotExist" }] }],
    ["a = 1, b in (x, y), !c, example.com/d", { matchLabels: {}, matchExpressions: [
      { key: "a", operator: "In", values: ["1"] }, { key: "b", operator: "In", values: ["x", "y"] },
      { key: "c", operator: "DoesNotExist" }, { key: "example.com/d", operator: "Exists" }] }],
    ["", { matchLabels: {}, matchExpressions: [] }],
  ])("%s", (sel, expected) => expect(parseStringSelector(sel)).toEqual(expected));

  it.each<[string, number, string]>([
    ["a=b,,c", 5, "empty term"],
    ["a=b,", 5, "empty term"],
    [",a", 1, "empty term"],
    ["a = b, c in ()", 8, '"in" needs at least one value'],
    ["a = b,  Bad_ = 1", 9, '"Bad_" is not a valid label key'],
    ["a b", 1, 'cannot read "a b"'],
    ["a in (x, (y))", 1, "cannot read"],
  ])("%s → column %d: %s", (sel, column, detail) => {
    const e = syntaxError(() => parseStringSelector(sel));
    expect(e.column).toBe(column);
    expect(e.detail).toContain(detail);
  });

  it.each<[string, boolean, boolean, boolean]>([
    ["role = web", true, false, false],
    ["role != web", false, true, true],
    ["role in (web, db), tier = backend", false, true, false],
    ["!env", false, true, true],
    ["env", true, false, false],
  ])("%s → web %s, db %s, bare %s", (sel, web, db, bare) => {
    const s = parseStringSelector(sel);
    expect([matchesLabelSelector(s, WEB), matchesLabelSelector(s, DB), matchesLabelSelector(s, BARE)]).toEqual([web, db, bare]);
  });
});

describe("matchesLabelSelector", () => {
  it.each<[string, LabelSelector, boolean, boolean, boolean]>([
    ["empty selects everything", {}, true, true, true],
    ["matchLabels", { matchLabels: { role: "web", tier: "frontend" } }, true, false, false],
    ["matchLabels, one differs", { matchLabels: { role: "web", tier: "backend" } }, false, false, false],
    ["In", { matchExpressions: [{ key: "role", operator: "In", values: ["web", "db"] }] }, true, true, false],
    ["In without values", { matchExpressions: [{ key: "role", operator: "In" }] }, false, false, false],
    ["NotIn", { matchExpressions: [{ key: "role", operator: "NotIn", values: ["web"] }] }, false, true, true],
    ["Exists", { matchExpressions: [{ key: "env", operator: "Exists" }] }, true, false, false],
    ["DoesNotExist", { matchExpressions: [{ key: "env", operator: "DoesNotExist" }] }, false, true, true],
    ["matchLabels AND expressions", { matchLabels: { tier: "backend" }, matchExpressions: [{ key: "role", operator: "In", values: ["db"] }] }, false, true, false],
    ["every expression must hold", { matchExpressions: [{ key: "role", operator: "Exists" }, { key: "env", operator: "DoesNotExist" }] }, false, true, false],
    ["prototype names are not labels", { matchLabels: { constructor: "x" }, matchExpressions: [{ key: "toString", operator: "DoesNotExist" }] }, false, false, false],
  ])("%s", (_name, sel, web, db, bare) => {
    expect([matchesLabelSelector(sel, WEB), matchesLabelSelector(sel, DB), matchesLabelSelector(sel, BARE)]).toEqual([web, db, bare]);
  });
});

describe("label keys and values", () => {
  it.each<[string, boolean]>([
    ["role", true], ["example.com/role", true], ["a.b-c_d", true], ["Role1", true],
    ["-role", false], ["role-", false], ["Example.com/role", false], ["/role", false], ["a".repeat(64), false], ["", false],
  ])("key %s → %s", (k, ok) => expect(isLabelKey(k)).toBe(ok));

  it.each<[string, boolean]>([["", true], ["web", true], ["prod-eu.1", true], ["-x", false], ["x y", false], ["a".repeat(64), false]])(
    "value %s → %s", (v, ok) => expect(isLabelValue(v)).toBe(ok));
});
