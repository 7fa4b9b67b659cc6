/** The nesting scan and size messages of text-limits.ts: what counts as a level, what does not. */
import * as fs from "node:fs";
import * as path from "node:path";
import { lineAtByte, nestingBeyond, sizeProblem } from "../../provider/model/text-limits";
import { ROOT } from "../support/models";

const nested = (levels: number) => Array.from({ length: levels }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n") + " 1\n";

describe("nestingBeyond", () => {
  it.each<[string, string, number, { line: number; column: number } | undefined]>([
    // The document itself is the first level.
    ["flow lists at the limit", `${"[".repeat(3)}${"]".repeat(3)}`, 4, undefined],
    ["flow lists one past it", `${"[".repeat(4)}${"]".repeat(4)}`, 4, { line: 1, column: 4 }],
    ["block mappings one past it", nested(5), 4, { line: 5, column: 5 }],
    ["block and flow add up", `a:\n  b: [[[1]]]\n`, 4, { line: 2, column: 8 }],
    ["one dash per nested sequence", "- - - - - x\n", 4, { line: 1, column: 9 }],
    ["brackets in double quotes do not count", `a: "[[[[[[[[[["\n`, 2, undefined],
    ["brackets in single quotes (with '' inside) do not count", `a: 'it''s [[[[[[['\n`, 2, undefined],
    ["brackets in a comment do not count", `a: 1 # [[[[[[[[[[\n`, 2, undefined],
    // (Brackets in a plain scalar count: an overestimate, on the safe side.)
    ["a quote inside a plain scalar opens nothing", `a: it's [[[x]]]\n`, 3, { line: 1, column: 11 }],
    ["a block scalar's deeper lines do not count", `a: |\n    b:\n      c:\n        d:\n`, 2, undefined],
    ["after the block scalar, levels count again", `a: |\n    text\nb:\n c:\n  d:\n`, 2, { line: 5, column: 3 }],
    ["a multi-line flow collection", `a: [\n  [\n    [1]\n  ]\n]\n`, 3, { line: 3, column: 5 }],
  ])("%s", (_what, text, limit, expected) => {
    expect(nestingBeyond(text, limit)).toEqual(expected);
  });

  it("no example model comes near the limit of 64", () => {
    const dir = path.join(ROOT, "examples/models");
    const files = fs.readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(nestingBeyond(fs.readFileSync(path.join(dir, f), "utf8"), 12)).toBeUndefined();
  });
});

describe("size", () => {
  it("names the line on which the limit is passed", () => {
    expect(lineAtByte("a\nb\nc\n", 3)).toBe(2);
    expect(lineAtByte("a\nb\nc\n", 4)).toBe(3);
    expect(sizeProblem("x".repeat(10), 10)).toBeUndefined();
    expect(sizeProblem(`${"x\n".repeat(1024 * 1024)}`, 1024 * 1024)).toBe("is 2 MiB, over the limit of 1 MiB from line 524289 on");
  });
});
