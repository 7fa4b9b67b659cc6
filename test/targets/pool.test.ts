import { mapBounded } from '../../provider/targets/pool';

describe('mapBounded', () => {
  test('bounded concurrency, per-item results and errors', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapBounded(
      [1, 2, 3, 4, 5, 6],
      async (n) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        if (n === 4) throw new Error('four');
        return n * 10;
      },
      { concurrency: 2 },
    );
    expect(peak).toBe(2);
    expect(results.map((r) => (r.ok ? r.value : r.error.message))).toEqual([10, 20, 30, 'four', 50, 60]);
  });
});
