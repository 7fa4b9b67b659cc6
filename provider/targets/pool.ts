/**
 * Bounded parallel fan-out, over hosts (SSH) and cluster objects (API requests) alike: every item
 * gets a result or an error, none is lost.
 */

/** One item's value, or the error it threw. */
export type ItemResult<R> = { ok: true; value: R } | { ok: false; error: Error };

export interface MapBoundedOptions {
  /** At most this many items in flight. @default 16 */
  concurrency?: number;
}

export async function mapBounded<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
  options: MapBoundedOptions = {},
): Promise<Array<ItemResult<R>>> {
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const results: Array<ItemResult<R>> = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await fn(items[i], i) };
      } catch (err) {
        results[i] = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
