import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyLineEdits, editScript, lineEdits, normalDiffEdits } from '../../provider/ruleset/line-edits';

/** A small deterministic generator, so a failure is the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/**
 * A random text of up to `maxLines` one-letter lines and a change of it by up to `maxEdits` random
 * edits: below `insertBelow` a line is inserted, below `removeBelow` one is removed, otherwise
 * `replace` (when given) rewrites one. `changes` counts the lines inserted and removed.
 */
function randomChange(rnd: () => number, maxLines: number, maxEdits: number, insertBelow: number, removeBelow: number,
  replace?: (letter: (n: number) => string) => string): { a: string[]; b: string[]; changes: number } {
  const letter = (n: number) => String.fromCharCode(97 + Math.floor(rnd() * n));
  const a = Array.from({ length: Math.floor(rnd() * maxLines) }, () => letter(4));
  const b = [...a];
  let changes = 0;
  for (let c = Math.floor(rnd() * maxEdits); c > 0; c--) {
    const r = rnd();
    const at = Math.floor(rnd() * (b.length + 1));
    if (r < insertBelow) { b.splice(at, 0, letter(5)); changes++; }
    else if (r < removeBelow && at < b.length) { b.splice(at, 1); changes++; }
    else if (replace && at < b.length) b[at] = replace(letter);
  }
  return { a, b, changes };
}

describe('line edits: the lines that change between two texts', () => {
  test('3,000 random texts and changes of them: the edits turn the old text into the new one, and are the fewest', () => {
    const rnd = random(7);
    for (let t = 0; t < 3000; t++) {
      const { a, b, changes } = randomChange(rnd, 30, 6, 0.4, 0.8);
      const edits = lineEdits(a, b, 1000);
      expect(edits).toBeDefined();
      expect(applyLineEdits(a, edits ?? [])).toEqual(b);
      const changed = (edits ?? []).reduce((n, e) => n + ('drop' in e ? e.drop : 'add' in e ? e.add.length : 0), 0);
      expect(changed).toBeLessThanOrEqual(changes); // never more than the edits that made b
    }
  });

  test('a one-line change in 200,000 lines is four short operations: keep, drop, add, keep', () => {
    const a = Array.from({ length: 200_000 }, (_, i) => `\t\t10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},`);
    const b = [...a];
    b[120_000] = '\t\t10.99.99.99,';
    const edits = lineEdits(a, b, 1000);
    expect(edits).toEqual([{ keep: 120_000 }, { drop: 1 }, { add: ['\t\t10.99.99.99,'] }, { keep: 79_999 }]);
    expect(editScript(edits ?? [])).toBe('=120000\n-1\n+1\n\t\t10.99.99.99,\n=79999\n');
  });

  test('more changed lines than the bound: no edits (the caller sends the text whole)', () => {
    expect(lineEdits(['a', 'b'], ['c', 'd', 'e'], 4)).toBeUndefined();
    expect(lineEdits(['a', 'b'], ['c', 'd', 'e'], 5)).toEqual([{ drop: 2 }, { add: ['c', 'd', 'e'] }]);
    expect(lineEdits([], [], 0)).toEqual([]);
  });

  test('edits that do not cover the old text are refused', () => {
    expect(() => applyLineEdits(['a', 'b'], [{ keep: 1 }])).toThrow('the edits cover 1 of 2 lines');
  });

  describe("what GNU diff prints (a host's confirming read sends the change since its first read)", () => {
    let dir: string;
    beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-diff-')); });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    /** `diff OLD NEW` in its normal format, as the host runs it (exit 1: they differ). */
    const diff = (a: readonly string[], b: readonly string[]): string => {
      const text = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');
      fs.writeFileSync(path.join(dir, 'a'), text(a));
      fs.writeFileSync(path.join(dir, 'b'), text(b));
      try {
        return execFileSync('diff', [path.join(dir, 'a'), path.join(dir, 'b')], { encoding: 'utf8' });
      } catch (e) {
        if ((e as { status?: number }).status === 1) return (e as { stdout: string }).stdout;
        throw e;
      }
    };
    const same = (mine: string, theirs: string) => mine === theirs;

    test('300 random texts and changes of them: the edits read from the diff turn the old text into the new one', () => {
      const rnd = random(11);
      for (let t = 0; t < 300; t++) {
        // A rewritten line looks like diff's own (`< x`).
        const { a, b } = randomChange(rnd, 25, 7, 0.35, 0.7, (letter) => `< ${letter(3)}`);
        const edits = normalDiffEdits(diff(a, b), a, same);
        expect(edits).toBeDefined();
        expect(applyLineEdits(a, edits ?? [])).toEqual(b);
      }
    });

    test('no difference is the old text kept whole', () => {
      expect(normalDiffEdits('', ['x', 'y'], same)).toEqual([{ keep: 2 }]);
    });

    test('a diff made from another old text is refused: an old line it names differs, or it runs past the end', () => {
      const a = ['table', 'chain a', 'rule 1', 'rule 2', '}'];
      const b = ['table', 'chain a', 'rule 1', 'rule 3', '}'];
      const d = diff(a, b);
      expect(d).toBe('4c4\n< rule 2\n---\n> rule 3\n');
      expect(normalDiffEdits(d, ['table', 'chain a', 'rule 1', 'rule 9', '}'], same)).toBeUndefined();
      expect(normalDiffEdits(d, ['table', 'chain a', 'rule 1'], same)).toBeUndefined();
      // Compared as the caller says: counters zeroed on its copy.
      expect(normalDiffEdits('1c1\n< counter packets 7\n---\n> x\n', ['counter packets 0'], (m, t) => m === t.replace(/\d+/, '0'))).toEqual([{ drop: 1 }, { add: ['x'] }]);
    });

    test('text that is not a normal diff is refused', () => {
      for (const text of ['--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n', '1c1\n< x\n> y\n', '1a2\n> y\n\\ No newline at end of file\n', '1c1\n< x\n---\n> y', '2d2\n< y\n', '0a2\n> y\n']) {
        expect(normalDiffEdits(text, ['x', 'y'], same)).toBeUndefined();
      }
    });
  });
});
