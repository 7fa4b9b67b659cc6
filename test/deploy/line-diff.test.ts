import { diffLines, formatDiff } from "../../provider/deploy/line-diff";

/** As the engine harness shows a multi-line input: no gap marks before the first or after the last change. */
const textDiff = (before: string, after: string) => formatDiff(diffLines(before.split("\n"), after.split("\n")), { gap: "...", edgeGaps: false });
const hunks = (lines: ReturnType<typeof diffLines>, context: number) => formatDiff(lines, { context, gap: "...", edgeGaps: false });

describe("textDiff", () => {
  it.each<[string, string, string, string[]]>([
    ["no change", "a\nb", "a\nb", []],
    ["one line changed, two lines of context", "1\n2\n3\n4\n5\n6\n7", "1\n2\n3\nX\n5\n6\n7", ["  2", "  3", "- 4", "+ X", "  5", "  6"]],
    ["far apart changes make two hunks", "a\nb\nc\nd\ne\nf\ng\nh\ni", "A\nb\nc\nd\ne\nf\ng\nh\nI", ["- a", "+ A", "  b", "  c", "...", "  g", "  h", "- i", "+ I"]],
    ["added at the end", "a\nb", "a\nb\nc", ["  a", "  b", "+ c"]],
    ["removed in the middle", "a\nb\nc", "a\nc", ["  a", "- b", "  c"]],
  ])("%s", (_what, before, after, expected) => {
    expect(textDiff(before, after)).toEqual(expected);
  });

  it("large texts (past the table limit) still keep every line, pairing equal lines by count", () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`);
    const b = [...a.slice(0, 1000).reverse(), ...a.slice(1000), "new"];
    const d = diffLines(a, b);
    expect(d.filter((l) => l.op !== "+").map((l) => l.text).sort()).toEqual([...a].sort());
    expect(d.filter((l) => l.op !== "-").map((l) => l.text)).toEqual(b);
    expect(d.filter((l) => l.op === "+").map((l) => l.text)).toEqual(["new"]);
  });

  it("keeps every line of both texts, in order", () => {
    const a = ["x", "y", "z", "y", "x"];
    const b = ["y", "x", "z", "z", "x"];
    const d = diffLines(a, b);
    expect(d.filter((l) => l.op !== "+").map((l) => l.text)).toEqual(a);
    expect(d.filter((l) => l.op !== "-").map((l) => l.text)).toEqual(b);
    expect(hunks(d, 0).every((l) => !l.startsWith("  "))).toBe(true);
  });
});
