// One edgeseg model in LiteRT.js: check the file (flatbuffer, metadata, batch, tensors), compile
// it on the WASM CPU backend (XNNPACK), and segment gray frames with the contract of contract.js.
// A problem is one ModelFileError/ContractError with a sentence the page shows as it is.

import { loadLiteRt, loadAndCompile, Tensor } from '../node_modules/@litertjs/core/dist/index.js';
import * as contract from './contract.js';
import { ModelFileError, readModel } from './tflite.js';

const WASM_DIR = new URL('../node_modules/@litertjs/core/wasm/', import.meta.url).href;
// LiteRT.js 2.5.3 tensors are float32, int32 or uint8: an int8 model input or output fails
// with "Element type INT8 is not supported" (measured), so uint8 (edgeseg's default) or float32 I/O.
const IO_TYPES = ['uint8', 'float32'];
let runtime = null;

// The WASM runtime binds console.error when it loads and logs its reasons there: keep the recent
// lines (installed before loadRuntime, so the runtime binds this wrapper).
const wasmLog = [];
const consoleError = console.error.bind(console);
console.error = (...args) => {
  wasmLog.push(args.join(' '));
  if (wasmLog.length > 200) wasmLog.splice(0, 100);
  consoleError(...args);
};

/**
 * Load the LiteRT.js WASM runtime once (served by this app, never from a CDN). `threads`: the
 * multi-threaded build (needs a cross-origin isolated page: `edgeseg web` sends COOP/COEP).
 */
export function loadRuntime(threads = false) {
  if (!runtime) runtime = loadLiteRt(WASM_DIR, { threads: threads && self.crossOriginIsolated });
  return runtime;
}

/** Check a model file's structure and metadata before LiteRT.js sees it. */
export function inspect(bytes, name) {
  const info = readModel(bytes);
  const payload = info.entries.edgeseg;
  if (!payload) {
    throw new ModelFileError(`${name} has no edgeseg metadata: export it with \`edgeseg convert\` (the page needs its input size, normalisation, classes and threshold)`);
  }
  let meta;
  try {
    meta = contract.parseMetadata(payload);
  } catch (err) {
    throw new ModelFileError(`${name}: ${err.message}`);
  }
  if (info.inputs.length !== 1) {
    throw new ModelFileError(`${name} has ${info.inputs.length} inputs: an edgeseg model has one image`);
  }
  const input = info.inputs[0];
  if (input.signature[0] === -1) {
    throw new ModelFileError(`${name} has a dynamic batch input [${input.signature.join(', ')}], which LiteRT.js refuses: serve it with \`edgeseg web ${name}\` (it serves a batch-1 copy) or re-export it with \`edgeseg convert\``);
  }
  const want = [1, meta.height, meta.width, 1];
  if (input.shape.join() !== want.join()) {
    throw new ModelFileError(`${name} takes input [${input.shape.join(', ')}] but its metadata says [${want.join(', ')}]: re-export the model`);
  }
  const io = [input, ...info.outputs].find((t) => !IO_TYPES.includes(t.dtype));
  if (io) {
    throw new ModelFileError(`${name} has ${io.dtype} input/output tensors, which LiteRT.js cannot take (it supports uint8 and float32): re-export it with \`edgeseg convert --int8\` (uint8 I/O, the default) or --io float32`);
  }
  const mask = info.outputs.find((t) => t.shape.length === 4);
  const presence = info.outputs.find((t) => t.shape.length === 2) ?? null;
  if (!mask) throw new ModelFileError(`${name} has no 4-D [1, H, W, C] mask output`);
  if (mask.shape[3] !== meta.classes.length) {
    throw new ModelFileError(`${name} outputs ${mask.shape[3]} mask channels but its metadata lists ${meta.classes.length} classes`);
  }
  return { meta, input, mask, presence };
}

/** The typed array LiteRT.js takes for the model's input (uint8 or float32). */
function inputArray(table, pixels, dtype) {
  const out = dtype === 'float32' ? new Float32Array(pixels.length) : new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i]];
  return out;
}

/**
 * LiteRT.js's reason as one line. Its exception names only a source location; the WASM logs the
 * reason itself ("ERROR: Op builtin_code out of range: 999 ...") on console.error first.
 */
function liteRtReason(err, logged) {
  const clean = (line) => line.replace(/^[\s└]*(ERROR|WARNING): /, '').trim();
  const reasons = logged.map((l) => String(l)).filter((l) => /^\s*ERROR: (?!\[)/.test(l)).map(clean);
  const thrown = String(err?.message ?? err).split('\n').map(clean).filter((l) => l && !l.startsWith('['));
  const text = [...reasons, ...thrown].filter((l) => l && l !== 'Registration failed.').join('; ');
  return text || 'LiteRT.js gave no reason (an operator or type it lacks, or a damaged file)';
}

export class EdgesegModel {
  constructor(name, bytes, compiled, spec) {
    this.name = name;
    this.bytes = bytes.length;
    this.compiled = compiled;
    Object.assign(this, spec); // meta, input, mask, presence
    this.table = contract.inputTable(this.meta, this.input);
    const details = compiled.getOutputDetails();
    this.maskIndex = details.findIndex((d) => d.shape.length === 4);
    this.presenceIndex = details.findIndex((d) => d.shape.length === 2);
  }

  /** Load, check and compile a model from its bytes (Uint8Array). */
  static async load(bytes, name) {
    const spec = inspect(bytes, name);
    await loadRuntime();
    let compiled;
    const mark = wasmLog.length;
    try {
      compiled = await loadAndCompile(bytes.slice(), { accelerator: 'wasm' });
    } catch (err) {
      throw new ModelFileError(`LiteRT.js cannot run ${name}: ${liteRtReason(err, wasmLog.slice(mark))}`);
    }
    return new EdgesegModel(name, bytes, compiled, spec);
  }

  get label() {
    const m = this.meta;
    return `${this.name} · ${m.arch} ${m.quantization} · edgeseg ${m.version} · ${m.width}x${m.height}`;
  }

  /** Raw outputs for uint8 pixels at model size: {maskValues, presenceValues, invokeMs}. */
  async infer(pixels) {
    const dims = [1, this.meta.height, this.meta.width, 1];
    const tensor = new Tensor(inputArray(this.table, pixels, this.input.dtype), dims);
    const t0 = performance.now();
    const outputs = await this.compiled.run(tensor);
    const invokeMs = performance.now() - t0;
    tensor.delete();
    const read = (i) => {
      if (i < 0) return null;
      return outputs[i].toTypedArray().slice();
    };
    const maskValues = read(this.maskIndex);
    const presenceValues = this.presence ? read(this.presenceIndex) : null;
    for (const o of outputs) o.delete();
    return { maskValues, presenceValues, invokeMs };
  }

  /** Raw outputs -> probabilities (float64 HxWxC) and the presence score (or null). */
  decode(raw) {
    const prob = contract.dequantize(raw.maskValues, this.mask);
    const presence = raw.presenceValues ? contract.dequantize(raw.presenceValues, this.presence)[0] : null;
    return { prob, presence };
  }

  /** Probabilities -> masks at model size and at the frame's size, with a given post-processing. */
  masks(prob, presence, post, frameW, frameH) {
    const { width, height } = this.meta;
    const channels = this.meta.classes.length;
    const model = contract.probabilitiesToMask(prob, width, height, channels, presence, post);
    return { model, frame: contract.masksToFrame(model, width, height, channels, frameW, frameH) };
  }

  /** A whole frame: gray (Uint8Array) -> {pixels, raw, prob, presence, mask, maskModel, timings}. */
  async segment(gray, frameW, frameH, post = this.meta.postprocess) {
    const t0 = performance.now();
    const pixels = contract.prepare(this.meta, gray, frameW, frameH);
    const t1 = performance.now();
    const raw = await this.infer(pixels);
    const t2 = performance.now();
    const { prob, presence } = this.decode(raw);
    const masks = this.masks(prob, presence, post, frameW, frameH);
    const t3 = performance.now();
    return {
      pixels, raw, prob, presence, mask: masks.frame, maskModel: masks.model,
      timings: { preprocessMs: t1 - t0, invokeMs: raw.invokeMs, postprocessMs: t3 - t2, totalMs: t3 - t0 },
    };
  }
}
