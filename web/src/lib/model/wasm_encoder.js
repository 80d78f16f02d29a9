// T tokens, L layers, H heads.
//
// The model on the WASM backend: the C++ EncoderModel (wasm/include/attn/model.h, wasm/src/model/encoder.cpp)
// loaded from the same file the tensors reader holds. It also owns the model's tokenizer, which every
// backend's runs use (model/index.js). Nothing throws across the binding: each result carries `error`.

function unwrap(result, fn) {
  if (result.error) throw new Error(`${fn}: ${result.error}`);
  delete result.error;
  return result;
}

/**
 * @param {object} module the engine's Emscripten module
 * @param {ReturnType<import('./tensors.js').openTensors>} tensors the open model file
 * @returns the encoder: { info (raw modelInfo), tokenize(normalized), pieces(ids), run(ids, options), dispose() }
 */
export function createWasmEncoder(module, tensors) {
  const handle = unwrap(module.modelLoad(tensors.file.ptr, tensors.file.size), 'loadModel').handle;
  let info;
  try {
    info = unwrap(module.modelInfo(handle), 'loadModel');
  } catch (error) {
    module.modelFree(handle);
    throw error;
  }
  return {
    info,
    /** Every piece of NFKC-normalised text: { ids: Int32Array, pieces: string[] }. */
    tokenize(normalized, fn = 'tokenize') {
      const r = unwrap(module.modelTokenize(handle, normalized), fn);
      return { ids: r.ids, pieces: r.pieces };
    },
    /** The pieces of ids ('<id N>' for rows without one). */
    pieces: (ids) => module.modelPieces(handle, Array.from(ids)),
    /**
     * ids [T] (clipped to maxTokens, each in [0, vocabSize)) -> { embedding, attention[L] [H][T][T],
     * hidden[L], inputEmbeddings, layerInputs[L], qkv[L] }, the results not in `outputs` (spec.js MODEL_OUTPUTS bits) null.
     */
    async run(ids, { kernel, outputs, fn }) {
      const r = unwrap(module.modelRunIds(handle, Array.from(ids), kernel, outputs), fn);
      return {
        embedding: r.embedding, attention: r.attention, hidden: r.hidden, inputEmbeddings: r.inputEmbeddings,
        layerInputs: r.layerInputs, qkv: r.qkv,
      };
    },
    dispose() { module.modelFree(handle); },
  };
}
