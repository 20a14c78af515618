// What the page needs from a .tflite flatbuffer, read with DataView (no dependency):
// the metadata entries (the `edgeseg` JSON, runtime contract section 5), and subgraph 0's
// input/output tensors with their shape, shape signature, type, scale and zero point.
// Mirrors edgeseg/edge_runtime/metadata.py and the Java core's TfliteMetadataReader.

const IDENTIFIER = 'TFL3';
// Field slots of the tflite schema tables (schema.fbs order).
const MODEL = { subgraphs: 2, buffers: 4, metadata: 6 };
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2 };
const TENSOR = { shape: 0, type: 1, name: 3, quantization: 4, shapeSignature: 7 };
const QUANT = { scale: 2, zeroPoint: 3 };
const METADATA = { name: 0, buffer: 1 };
const BUFFER = { data: 0, offset: 1, size: 2 };

// schema.fbs TensorType values.
export const TENSOR_TYPES = {
  0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool',
  7: 'int16', 9: 'int8', 10: 'float64',
};

/** A problem with the model file, worded for the page. */
export class ModelFileError extends Error {}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  check(pos, size) {
    if (pos < 0 || pos + size > this.bytes.length) {
      throw new ModelFileError(`offset ${pos} outside the file (${this.bytes.length} bytes)`);
    }
  }

  u8(pos) { this.check(pos, 1); return this.view.getUint8(pos); }
  u16(pos) { this.check(pos, 2); return this.view.getUint16(pos, true); }
  u32(pos) { this.check(pos, 4); return this.view.getUint32(pos, true); }
  i32(pos) { this.check(pos, 4); return this.view.getInt32(pos, true); }
  f32(pos) { this.check(pos, 4); return this.view.getFloat32(pos, true); }
  i64(pos) { this.check(pos, 8); return Number(this.view.getBigInt64(pos, true)); }
  u64(pos) { this.check(pos, 8); return Number(this.view.getBigUint64(pos, true)); }

  root() { return this.u32(0); }

  /** Absolute position of a table field, or null when absent. */
  field(table, slot) {
    const vtable = table - this.i32(table);
    const entry = 4 + 2 * slot;
    if (entry + 2 > this.u16(vtable)) return null;
    const offset = this.u16(vtable + entry);
    return offset ? table + offset : null;
  }

  indirect(pos) { return pos + this.u32(pos); }

  vector(pos) {
    const vec = this.indirect(pos);
    const length = this.u32(vec);
    if (length > this.bytes.length) throw new ModelFileError(`vector length ${length} too large`);
    return [vec + 4, length];
  }

  tables(pos) {
    if (pos === null) return [];
    const [start, n] = this.vector(pos);
    return Array.from({ length: n }, (_, i) => this.indirect(start + 4 * i));
  }

  scalars(pos, width, read) {
    if (pos === null) return [];
    const [start, n] = this.vector(pos);
    return Array.from({ length: n }, (_, i) => read.call(this, start + width * i));
  }

  byteVector(pos) {
    const [start, n] = this.vector(pos);
    this.check(start, n);
    return this.bytes.subarray(start, start + n);
  }

  string(pos) {
    return pos === null ? '' : new TextDecoder().decode(this.byteVector(pos));
  }
}

function bufferBytes(r, buffer) {
  const data = r.field(buffer, BUFFER.data);
  if (data !== null) {
    const payload = r.byteVector(data);
    if (payload.length) return payload;
  }
  const offsetField = r.field(buffer, BUFFER.offset);
  const sizeField = r.field(buffer, BUFFER.size);
  const offset = offsetField === null ? 0 : r.u64(offsetField);
  const size = sizeField === null ? 0 : r.u64(sizeField);
  if (offset > 1 && size) {
    r.check(offset, size);
    return r.bytes.subarray(offset, offset + size);
  }
  return new Uint8Array(0);
}

function tensorInfo(r, tensor, index) {
  const shape = r.scalars(r.field(tensor, TENSOR.shape), 4, Reader.prototype.i32);
  const sigField = r.field(tensor, TENSOR.shapeSignature);
  const signature = sigField === null ? shape : r.scalars(sigField, 4, Reader.prototype.i32);
  const typeField = r.field(tensor, TENSOR.type);
  const typeCode = typeField === null ? 0 : r.u8(typeField);
  const quant = r.field(tensor, TENSOR.quantization);
  let scale = 0;
  let zeroPoint = 0;
  if (quant !== null) {
    const q = r.indirect(quant);
    const scales = r.scalars(r.field(q, QUANT.scale), 4, Reader.prototype.f32);
    const zeros = r.scalars(r.field(q, QUANT.zeroPoint), 8, Reader.prototype.i64);
    scale = scales.length ? scales[0] : 0; // float32 widened to double, as numpy does
    zeroPoint = zeros.length ? zeros[0] : 0;
  }
  return {
    index,
    name: r.string(r.field(tensor, TENSOR.name)),
    shape,
    signature,
    dtype: TENSOR_TYPES[typeCode] ?? `type ${typeCode}`,
    scale,
    zeroPoint,
  };
}

/**
 * Parse a model: {entries: {name: Uint8Array}, inputs: [tensor], outputs: [tensor]}.
 * Throws ModelFileError for a file that is not a TFLite flatbuffer or is damaged.
 */
export function readModel(bytes) {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(4, 8)) !== IDENTIFIER) {
    throw new ModelFileError('this is not a TFLite model (no \'TFL3\' flatbuffer identifier)');
  }
  const r = new Reader(bytes);
  try {
    const model = r.root();
    const buffers = r.tables(r.field(model, MODEL.buffers));
    const entries = {};
    for (const entry of r.tables(r.field(model, MODEL.metadata))) {
      const nameField = r.field(entry, METADATA.name);
      if (nameField === null) continue;
      const bufField = r.field(entry, METADATA.buffer);
      const index = bufField === null ? 0 : r.u32(bufField);
      if (index >= buffers.length) throw new ModelFileError(`metadata points at buffer ${index}`);
      entries[r.string(nameField)] = bufferBytes(r, buffers[index]);
    }
    const subgraphs = r.tables(r.field(model, MODEL.subgraphs));
    if (!subgraphs.length) throw new ModelFileError('the model has no subgraph');
    const sg = subgraphs[0];
    const tensors = r.tables(r.field(sg, SUBGRAPH.tensors));
    const pick = (slot) => r.scalars(r.field(sg, slot), 4, Reader.prototype.i32).map((i) => {
      if (i < 0 || i >= tensors.length) throw new ModelFileError(`tensor ${i} does not exist`);
      return tensorInfo(r, tensors[i], i);
    });
    return { entries, inputs: pick(SUBGRAPH.inputs), outputs: pick(SUBGRAPH.outputs) };
  } catch (err) {
    if (err instanceof ModelFileError) throw new ModelFileError(`the model file is corrupt (${err.message})`);
    if (err instanceof RangeError) throw new ModelFileError(`the model file is corrupt (${err.message})`);
    throw err;
  }
}
