/** A small seeded PRNG (mulberry32): the same seed gives the same sequence, so runs repeat. */
export function createSeededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher–Yates shuffle that is guaranteed to change the order of two or more distinct items. */
export function shuffleOrder<T>(items: T[], random: () => number): T[] {
  if (items.length < 2 || items.every((item) => item === items[0])) return [...items];
  for (;;) {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    if (out.some((item, i) => item !== items[i])) return out;
  }
}
