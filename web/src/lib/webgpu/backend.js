// The WebGPU backend of the attention engine (docs/CONTRACTS.md): the same normalized arguments and
// results as the WASM backend, computed by the WGSL programs in this folder.
import { Runtime, withRun } from './runtime.js';
import { VARIANTS, attention, multiHeadAttention } from './attention.js';

const FLASH_MODES = ['auto', 'always', 'never'];

function describeAdapter(adapter, device) {
  const info = adapter?.info ?? device?.adapterInfo ?? {};
  const pick = (name) => (typeof info[name] === 'string' ? info[name] : '');
  return {
    vendor: pick('vendor'), architecture: pick('architecture'), device: pick('device'),
    description: pick('description'),
    ...(typeof info.isFallbackAdapter === 'boolean' ? { isFallbackAdapter: info.isFallbackAdapter } : {}),
  };
}

/**
 * Creates the WebGPU backend.
 *   gpu:     navigator.gpu in browsers; in Node the npm 'webgpu' package's create([]) (default navigator.gpu)
 *   adapter: an adapter to use instead of gpu.requestAdapter()
 *   device:  a device to use (not destroyed by dispose()); else one is requested with the adapter's
 *            largest storage-buffer limits
 *   flash:   'auto' (fused kernel from FLASH_MIN_KEYS keys on, when weights are not requested),
 *            'always' (whenever it applies) or 'never'
 *   debug:   print each program's WGSL when it is compiled
 * Rejects with an Error when there is no GPU, no adapter, or the device is refused.
 */
export async function createWebGPUBackend({ gpu, adapter, device, flash = 'auto', debug = false } = {}) {
  if (!FLASH_MODES.includes(flash)) {
    throw new RangeError(`createWebGPUBackend: flash must be one of ${FLASH_MODES.join(', ')}, got '${flash}'`);
  }
  let ownsDevice = false;
  if (!device) {
    if (!adapter) {
      gpu ??= typeof navigator !== 'undefined' ? navigator.gpu : undefined;
      if (!gpu) throw new Error('WebGPU is not available: no navigator.gpu and no gpu object was given');
      try {
        adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      } catch (error) {
        throw new Error(`WebGPU: requestAdapter() failed: ${error.message}`, { cause: error });
      }
      if (!adapter) throw new Error('WebGPU: no adapter was granted (requestAdapter() returned null)');
    }
    // Ask for the adapter's largest buffers: long sequences need them, and a device is per page anyway.
    const requiredLimits = {};
    for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize']) {
      if (adapter.limits?.[name]) requiredLimits[name] = adapter.limits[name];
    }
    try {
      device = await adapter.requestDevice({ label: 'attn.device', requiredLimits });
    } catch (error) {
      throw new Error(`WebGPU: the adapter refused a device: ${error.message}`, { cause: error });
    }
    if (!device) throw new Error('WebGPU: the adapter refused a device (requestDevice() returned null)');
    ownsDevice = true;
  }
  const rt = new Runtime(device, { adapterInfo: describeAdapter(adapter, device), debug, ownsDevice });
  // The GPU object and adapter the device came from, held while the backend lives: in Node, Dawn frees the
  // instance under a device whose GPU object was collected (aborts or hangs in later calls).
  let held = { gpu, adapter };
  try {
    await rt.warmUp(VARIANTS);
  } catch (error) {
    rt.dispose();
    throw error;
  }

  return {
    name: 'webgpu',
    simd: false,
    adapterInfo: rt.adapterInfo,
    /** The device's buffer limits the backend checks against. */
    limits: { ...rt.limits },
    /** The runtime, for GPU ops outside attention (docs/WEBGPU.md). */
    runtime: rt,
    /** True once the device is lost or the backend disposed. */
    get lost() { return rt.lost !== null || rt.disposed; },
    attention: async (norm) => attention(rt, withRun, norm, flash),
    multiHeadAttention: async (norm) => multiHeadAttention(rt, withRun, norm, flash),
    /** The model of an open model file (model/tensors.js) on this device: weights uploaded once. */
    async createEncoder(tensors) {
      rt.checkAlive('loadModel');
      const { createGpuEncoder } = await import('../model/gpu_encoder.js');
      return createGpuEncoder(rt, tensors);
    },
    dispose() {
      rt.dispose();
      held = null;
    },

  };
}
