// The WebGPU runtime under the backend: the device, its limits, pipelines and bind group layouts
// (created once, cached per program variant), and one Run per call that owns the call's buffers, encodes
// its dispatches, submits, reads results back and destroys everything in a finally.
import { PROGRAMS, programSource, packUniforms } from './shaders.js';

// GPUBufferUsage / GPUMapMode values, spelled out so no WebGPU globals are needed (Node).
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };
const MAP_READ = 0x1;

const MiB = 2 ** 20;
const fmtBytes = (bytes) => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`);

/** A RangeError for a buffer over the device's limits; `gpuLimit` lets createEngine tell it apart. */
export function limitError(message) {
  const error = new RangeError(message);
  error.gpuLimit = true;
  return error;
}

export class Runtime {
  /**
   * device: a GPUDevice; adapterInfo: plain object; debug: print each program's source when compiled.
   */
  constructor(device, { adapterInfo = null, debug = false, ownsDevice = false } = {}) {
    this.device = device;
    this.adapterInfo = adapterInfo;
    this.debug = debug;
    this.ownsDevice = ownsDevice;
    this.limits = {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    };
    this.layouts = new Map();    // program -> { bindGroupLayout, pipelineLayout }
    this.pipelines = new Map();  // program|constants -> Promise<GPUComputePipeline>
    this.modules = new Map();    // program -> Promise<GPUShaderModule>
    this.lost = null;            // { reason, message } once the device is lost
    this.disposed = false;
    device.lost.then((info) => {
      this.lost = { reason: info?.reason ?? 'unknown', message: info?.message ?? '' };
    });
  }

  /** Throws when the device can no longer be used. */
  checkAlive(fn) {
    if (this.disposed) throw new Error(`${fn}: this WebGPU backend was disposed`);
    if (this.lost) {
      throw new Error(`${fn}: the WebGPU device was lost (${this.lost.reason}${this.lost.message ? `: ${this.lost.message}` : ''}); ` +
        'create a new engine');
    }
  }

  /** Throws a RangeError when a buffer of `floats` 4-byte values (`formula`) exceeds the device limits. */
  checkBuffer(fn, name, floats, formula) {
    const bytes = 4 * floats;
    for (const limit of ['maxStorageBufferBindingSize', 'maxBufferSize']) {
      if (bytes > this.limits[limit]) {
        throw limitError(`${fn}: ${name} needs ${bytes} bytes (${formula} = ${floats} floats, ${fmtBytes(bytes)}) but ` +
          `this WebGPU device's ${limit} is ${this.limits[limit]} bytes (${fmtBytes(this.limits[limit])})`);
      }
    }
  }

  /** Throws a RangeError when a dispatch needs more workgroups along one dimension than the device allows. */
  checkGroups(fn, what, count) {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (count > max) {
      throw limitError(`${fn}: ${what} needs ${count} workgroups along one dimension but this WebGPU device ` +
        `allows ${max} (maxComputeWorkgroupsPerDimension)`);
    }
  }

  layout(program) {
    let entry = this.layouts.get(program);
    if (!entry) {
      const types = { uniform: { buffer: { type: 'uniform' } }, read: { buffer: { type: 'read-only-storage' } },
        write: { buffer: { type: 'storage' } } };
      const bindGroupLayout = this.device.createBindGroupLayout({
        label: `attn.${program}.bindGroupLayout`,
        entries: ['uniform', ...PROGRAMS[program].bindings].map((type, binding) => ({ binding, visibility: 4 /* COMPUTE */, ...types[type] })),
      });
      const pipelineLayout = this.device.createPipelineLayout({
        label: `attn.${program}.pipelineLayout`, bindGroupLayouts: [bindGroupLayout],
      });
      entry = { bindGroupLayout, pipelineLayout };
      this.layouts.set(program, entry);
    }
    return entry;
  }

  static key(program, constants) {
    return `${program}|${Object.entries(constants).sort().map(([k, v]) => `${k}=${Number(v)}`).join(',')}`;
  }

  async module(program) {
    if (!this.modules.has(program)) {
      this.modules.set(program, (async () => {
        const code = await programSource(program);
        if (this.debug) console.log(`// attn.${program}.wgsl\n${code}`);
        this.device.pushErrorScope('validation');
        const module = this.device.createShaderModule({ label: `attn.${program}.wgsl`, code });
        const error = await this.device.popErrorScope();
        const info = module.getCompilationInfo ? await module.getCompilationInfo() : { messages: [] };
        const errors = info.messages.filter((m) => m.type === 'error');
        if (error || errors.length) {
          const detail = errors.map((m) => `line ${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
          throw new Error(`WebGPU: shader attn.${program}.wgsl does not compile: ${detail || error.message}`);
        }
        return module;
      })());
    }
    return this.modules.get(program);
  }

  /**
   * The compute pipeline of a program variant (override constants), compiled once and cached by key.
   * Validation errors become an Error naming the program.
   */
  pipeline(program, constants = {}) {
    const key = Runtime.key(program, constants);
    if (!this.pipelines.has(key)) {
      const promise = (async () => {
        const module = await this.module(program);
        const { pipelineLayout } = this.layout(program);
        this.device.pushErrorScope('validation');
        let pipeline;
        let failure = null;
        try {
          pipeline = await this.device.createComputePipelineAsync({
            label: `attn.${key}`, layout: pipelineLayout,
            compute: { module, entryPoint: 'main', constants: Object.fromEntries(Object.entries(constants).map(([k, v]) => [k, Number(v)])) },
          });
        } catch (error) {
          failure = error;
        }
        const scoped = await this.device.popErrorScope();
        if (failure || scoped) {
          throw new Error(`WebGPU: pipeline attn.${key} could not be created: ${(failure ?? scoped).message}`,
            { cause: failure ?? scoped });
        }
        return pipeline;
      })();
      promise.catch(() => this.pipelines.delete(key));  // a failure is not cached
      this.pipelines.set(key, promise);
    }
    return this.pipelines.get(key);
  }

  /** Looks up a pipeline compiled before (warm-up); never compiles during a call's encoding. */
  ready(program, constants) {
    const key = Runtime.key(program, constants);
    const pipeline = this.compiled?.get(key);
    if (!pipeline) throw new Error(`WebGPU: pipeline attn.${key} was not compiled at start-up`);
    return pipeline;
  }

  /** Compiles every variant the backend uses, once, before the first call. */
  async warmUp(variants) {
    this.compiled = new Map();
    const pipelines = await Promise.all(variants.map(([program, constants]) => this.pipeline(program, constants)));
    variants.forEach(([program, constants], n) => this.compiled.set(Runtime.key(program, constants), pipelines[n]));
  }

  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    this.pipelines.clear();
    this.modules.clear();
    this.layouts.clear();
    this.compiled?.clear();
    if (this.ownsDevice) this.device.destroy();
  }
}

/** One call: its buffers (labelled `attn.<call>.<name>`), its command encoder and its read-backs. */
export class Run {
  constructor(runtime, name) {
    this.rt = runtime;
    this.device = runtime.device;
    this.name = name;
    this.buffers = [];
    this.encoder = this.device.createCommandEncoder({ label: `attn.${name}.encoder` });
    this.pass = null;
    this.reads = [];
    this.dummy = null;
  }

  buffer(name, bytes, usage) {
    const buffer = this.device.createBuffer({
      label: `attn.${this.name}.${name}`, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage,
    });
    this.buffers.push(buffer);
    return buffer;
  }

  /** A storage buffer holding `data` (a typed array; bytes padded to a multiple of 4). */
  upload(name, data) {
    const buffer = this.buffer(name, data.byteLength, USAGE.STORAGE | USAGE.COPY_DST);
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    if (bytes.byteLength > 0) this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  /** A storage buffer of `floats` values written by the GPU (zero-initialised by WebGPU). */
  scratch(name, floats) {
    return this.buffer(name, 4 * floats, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST);
  }

  /** A small read-only buffer bound where a program's optional input is absent. */
  none() {
    if (!this.dummy) this.dummy = this.buffer('none', 4, USAGE.STORAGE);
    return this.dummy;
  }

  /** The uniform buffer of a program from its field values by name (shaders.js packUniforms). */
  uniform(program, name, values) {
    const data = packUniforms(program, values);
    const buffer = this.buffer(`${name}.params`, data.byteLength, USAGE.UNIFORM | USAGE.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  /**
   * Encodes one dispatch of a compiled program variant: `uniforms` by name ({ nq, nk, ... }, exactly the
   * program's declared fields), `buffers` in the order of its bindings.
   */
  dispatch(program, constants, name, uniforms, buffers, groups) {
    const pipeline = this.rt.ready(program, constants);
    const resources = [this.uniform(program, name, uniforms), ...buffers];
    const bindGroup = this.device.createBindGroup({
      label: `attn.${this.name}.${name}.bindGroup`,
      layout: this.rt.layout(program).bindGroupLayout,
      entries: resources.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    if (!this.pass) this.pass = this.encoder.beginComputePass({ label: `attn.${this.name}.pass` });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(...groups);
  }

  /** Encodes a copy of `floats` values from buffer `from` to buffer `to` (between the dispatches before and after). */
  copy(from, to, floats) {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder.copyBufferToBuffer(from, 0, to, 0, 4 * floats);
  }

  /** Schedules `floats` values of `buffer` to be read back; run() returns them in this order. */
  read(name, buffer, floats) {
    this.reads.push({ name, buffer, floats });
  }

  /** Submits the work, checks for validation and out-of-memory errors, and returns the read-backs. */
  async run() {
    const fn = this.name;
    if (this.pass) this.pass.end();
    const staging = this.reads.map(({ name, buffer, floats }) => {
      const target = this.buffer(`${name}.readback`, 4 * floats, USAGE.MAP_READ | USAGE.COPY_DST);
      this.encoder.copyBufferToBuffer(buffer, 0, target, 0, Math.max(4, 4 * floats));
      return target;
    });
    this.device.queue.submit([this.encoder.finish({ label: `attn.${this.name}.commands` })]);
    try {
      await Promise.all(staging.map((buffer) => buffer.mapAsync(MAP_READ)));
    } catch (error) {
      this.rt.checkAlive(fn);
      throw new Error(`${fn}: reading WebGPU results failed: ${error.message}`, { cause: error });
    }
    return staging.map((buffer, n) => new Float32Array(buffer.getMappedRange().slice(0, 4 * this.reads[n].floats)));
  }

  destroy() {
    for (const buffer of this.buffers) buffer.destroy();
    this.buffers = [];
  }
}

/**
 * Runs `body(run)` inside validation and out-of-memory error scopes, then submits and reads back.
 * Buffers are destroyed whatever happens; GPU errors become Errors naming the call.
 */
export async function withRun(runtime, name, body) {
  runtime.checkAlive(name);
  const { device } = runtime;
  const run = new Run(runtime, name);
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let scopesOpen = true;
  const popScopes = async () => {
    scopesOpen = false;
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    return oom ? new Error(`${name}: the WebGPU device is out of memory: ${oom.message}`) :
      validation ? new Error(`${name}: WebGPU validation error: ${validation.message}`) : null;
  };
  try {
    body(run);
    const pending = run.run();
    const scopeError = await popScopes();
    if (scopeError) {
      pending.catch(() => {});
      throw scopeError;
    }
    return await pending;
  } finally {
    if (scopesOpen) await popScopes().catch(() => {});
    run.destroy();
  }
}
