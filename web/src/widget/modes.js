// The widget's modes: what each one computes is one function in compute.js (COMPUTE, keyed by id); this
// list holds what the page side needs to know (label, whether the model file is wanted, which attributes
// matter). Adding a mode = an entry here + its function in compute.js.
export const MODES = [
  { id: 'model', label: 'pretrained model', usesModel: true, usesScore: false },
  { id: 'whatif', label: 'what-if', usesModel: true, usesScore: true },
  { id: 'causal', label: 'causal decoder', usesModel: false, usesScore: true },
  { id: 'encdec', label: 'encoder-decoder', usesModel: false, usesScore: true, usesSource: true },
  { id: 'seeded', label: 'seeded weights', usesModel: false, usesScore: false },
];

/** The mode registered as `id`, else the first one ('model'). */
export function modeFor(id) {
  return MODES.find((m) => m.id === id) ?? MODES[0];
}
