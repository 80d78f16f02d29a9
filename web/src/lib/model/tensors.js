// The tensors of a model file, read by the one validated safetensors reader (attn::SafeTensors, C++,
// through wasm/bindings/model_bindings.cpp): every backend's createEncoder(tensors) takes this object.
// The file stays in the WASM heap until close(); shapes are checked and F16/BF16 converted in C++.

function unwrap(result, fn) {
  if (result.error) throw new Error(`${fn}: ${result.error}`);
  return result;
}

/**
 * Opens the safetensors file at file.ptr (file.size bytes) in the module's heap; close() frees the reader
 * and the file.
 * @returns {{ file: { ptr: number, size: number }, metadata: Record<string, string>,
 *   shape(name: string): number[] | null, read(name: string, shape: number[]): Float32Array, close(): void }}
 */
export function openTensors(module, file) {
  let handle = 0;
  try {
    handle = unwrap(module.tensorsOpen(file.ptr, file.size), 'loadModel').handle;
    const { tensors, metadata } = unwrap(module.tensorsInfo(handle), 'loadModel');
    let open = true;
    return {
      file,
      metadata,
      /** The tensor's shape, or null when the file has no tensor of that name. */
      shape: (name) => (Object.hasOwn(tensors, name) ? tensors[name].shape : null),
      /** A float32 copy of tensor `name`, which must have exactly `shape` (else an Error naming both). */
      read(name, shape) {
        if (!open) throw new Error(`loadModel: the model file was closed before '${name}' was read`);
        return unwrap(module.tensorsRead(handle, name, shape), 'loadModel').data;
      },
      close() {
        if (!open) return;
        open = false;
        module.tensorsClose(handle);
        module._free(file.ptr);
      },
    };
  } catch (error) {
    if (handle) module.tensorsClose(handle);
    module._free(file.ptr);
    throw error;
  }
}
