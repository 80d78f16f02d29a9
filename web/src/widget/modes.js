// The widget's modes: what each one computes is one function in compute.js (COMPUTE, keyed by id); this
// list holds what the page side needs to know (label, whether the model file is wanted, which attributes
// matter). Adding a mode = an entry here + its function in compute.js.
// usesTranslator: the mode runs the trained English -> German encoder-decoder (engine.loadTranslator, the
// shipped weights or the ones trained in the page); its score function is the one it was trained with.
export const MODES = [
  { id: 'model', label: 'pretrained model', usesModel: true, usesScore: false },
  { id: 'whatif', label: 'what-if', usesModel: true, usesScore: true },
  { id: 'translate', label: 'translate (trained encoder-decoder)', usesModel: false, usesTranslator: true, usesScore: false },
  { id: 'causal', label: 'causal decoder (trained)', usesModel: false, usesTranslator: true, usesScore: false },
  { id: 'encdec', label: 'encoder-decoder (trained)', usesModel: false, usesTranslator: true, usesScore: false },
  { id: 'seeded', label: 'seeded weights (untrained)', usesModel: false, usesScore: false },
];

/** The mode registered as `id`, else the first one ('model'). */
export function modeFor(id) {
  return MODES.find((m) => m.id === id) ?? MODES[0];
}
