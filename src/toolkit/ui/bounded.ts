/**
 * Runs `task` over `items` with at most `limit` at once, answering in the items' order. The UI
 * answers each request in its own Next.js handler: a listing that fans out (one call per
 * dataset or per job) must not open hundreds of requests through the tunnel at once. The first
 * failure rejects the whole; tasks already started run on, their answers unread.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** How many of the UI's listing calls run at once. */
export const UI_FAN_OUT = 4;
