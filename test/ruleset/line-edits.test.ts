import { applyLineEdits, editScript, lineEdits } from '../../provider/ruleset/line-edits';

/** A small deterministic generator, so a failure is the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe('line edits: the lines that change between two texts', () => {
  test('3,000 random texts and changes of them: the edits turn the old text into the new one, and are the fewest', () => {
    const rnd = random(7);
    const letter = (n: number) => String.fromCharCode(97 + Math.floor(rnd() * n));
    for (let t = 0; t < 3000; t++) {
      const a = Array.from({ length: Math.floor(rnd() * 30) }, () => letter(4));
      const b = [...a];
      let changes = 0;
      for (let c = Math.floor(rnd() * 6); c > 0; c--) {
        const r = rnd();
        const at = Math.floor(rnd() * (b.length + 1));
        if (r < 0.4) { b.splice(at, 0, letter(5)); changes++; } else if (r < 0.8 && at < b.length) { b.splice(at, 1); changes++; }
      }
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
});
