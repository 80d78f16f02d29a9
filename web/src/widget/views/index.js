// The registry of views, one line each, in toolbar order. A view is one file whose default export is
//   { id, label, needs, controls, render(props) -> Node, select?(result, state, shown) -> object,
//     reserve?(width, state) -> px }
// needs: what the worker must compute besides the layers' weights ('steps': one head step by step for the
// state's layer and head); controls: the toolbar controls the view reads (the others are disabled);
// select: extra fields of `shown` derived from the result (pure); reserve: the most height the view takes
// at a width, kept free before the first drawing. render is a pure function of its props:
//   { result, shown, state, palette, width, hiddenHeads, announce(text), setState(partial), toggleHead(h) }.
import heatmap from './heatmap.js';
import head from './head.js';
import model from './model.js';
import neuron from './neuron.js';
import steps from './steps.js';

export const VIEWS = [heatmap, head, model, neuron, steps];

/** The view registered as `id`, else the first one. */
export function viewFor(id) {
  return VIEWS.find((v) => v.id === id) ?? VIEWS[0];
}
