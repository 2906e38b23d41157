/**
 * Reads at most `limit` bytes of a response body. Leaving the loop early destroys the body and,
 * with it, the connection: the rest is never read, so a body of any size costs at most `limit`.
 */
export async function readCapped(
  body: AsyncIterable<Buffer>,
  limit: number,
): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    const room = limit - bytes;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      return { body: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(chunk);
    bytes += chunk.length;
  }
  return { body: Buffer.concat(chunks), truncated: false };
}
