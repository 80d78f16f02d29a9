// The one seeded generator of the project: the shared test cases (tests/cases/README.md), the widget's seeded
// weights and the translator's corpus and initialisation all draw from it, so a seed means the same numbers
// everywhere.

/** mulberry32: uniform floats in [0, 1) from a uint32 seed. */
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
