// The frame contract (docs/runtime-contract.md) in JavaScript: metadata -> settings, frame ->
// uint8 model input (gray, Pillow's bilinear resize, percentile stretch), quantization,
// output -> masks (threshold, presence gate, min area, largest component, Pillow's nearest
// resize back), overlay. A port of the Java core (android_demo/core, org.edgeseg.core), checked
// against the same golden vectors. Plain numbers are float64, as in numpy and the Java core.

export const SCHEMA = 'edgeseg.metadata/1';
export const PIXEL_SCALE = 1.0 / 255.0;
export const OVERLAY_ALPHA = 115; // out of 256, about 45 % (section 4)
const NAMED_COLORS = { nerve: [255, 220, 0], vessel: [230, 40, 40] };
// edgeseg/contract.py PALETTE: other classes, in class order (cycled).
const PALETTE = [[0, 200, 255], [60, 220, 60], [255, 0, 255], [255, 140, 0], [40, 90, 255], [160, 90, 255]];

/** A metadata or settings problem, worded for the page. */
export class ContractError extends Error {}

export function classColor(name, index) {
  return NAMED_COLORS[name] ?? PALETTE[index % PALETTE.length];
}

function checkUnit(name, value) {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new ContractError(`${name} ${value}: must be a number between 0 and 1`);
  }
  return value;
}

/** The edgeseg metadata JSON (bytes or text) -> the contract's settings, as FrameContract.from_json. */
export function parseMetadata(payload) {
  let raw;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (err) {
    throw new ContractError(`its edgeseg metadata is not valid JSON (${err.message}): re-export the model`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ContractError('its edgeseg metadata is not a JSON object: re-export the model');
  }
  const schema = String(raw.schema ?? '');
  if (!schema.startsWith('edgeseg.metadata/')) {
    throw new ContractError(`metadata schema '${schema}' is not an edgeseg schema`);
  }
  if (schema !== SCHEMA) {
    throw new ContractError(`metadata schema '${schema}' is newer than this app (${SCHEMA}): update the web app`);
  }
  const input = raw.input ?? {};
  const pre = {
    normalize: 'percentile', percentiles: [1.0, 99.0], clahe: false, denoise: 'none',
    ...(raw.preprocessing ?? {}),
  };
  const post = {
    threshold: 0.5, min_area: 0, largest_component: false, presence_threshold: 0.5,
    presence_gate: false, ...(raw.postprocess ?? {}),
  };
  if (!Number.isInteger(input.height) || !Number.isInteger(input.width) || input.height < 1 || input.width < 1) {
    throw new ContractError('its metadata has no input height/width: re-export the model');
  }
  if (!Array.isArray(raw.classes) || raw.classes.length === 0) {
    throw new ContractError('its edgeseg metadata lists no classes: re-export the model');
  }
  checkUnit('threshold', post.threshold);
  checkUnit('presence_threshold', post.presence_threshold);
  if (!Number.isInteger(post.min_area) || post.min_area < 0) {
    throw new ContractError(`min_area ${post.min_area}: must be a whole number >= 0`);
  }
  if (pre.denoise !== 'none') {
    throw new ContractError(`preprocessing.denoise='${pre.denoise}' is not implemented in the web app (only 'none'): re-export with denoise=none or use the Python runtime`);
  }
  if (pre.clahe) {
    throw new ContractError('preprocessing.clahe=true is not implemented in the web app: re-export with clahe=false or use the Python runtime');
  }
  if (pre.normalize !== 'percentile' && pre.normalize !== 'none') {
    throw new ContractError(`preprocessing.normalize='${pre.normalize}' is not implemented in the web app (supported: percentile, none)`);
  }
  const scale = input.scale ?? PIXEL_SCALE;
  if (!(Number.isFinite(scale) && scale > 0)) throw new ContractError(`input scale ${scale} must be positive`);
  return {
    schema,
    version: String(raw.edgeseg_version ?? 'unknown'),
    arch: String(raw.arch ?? 'unknown'),
    quantization: String(raw.quantization ?? 'unknown'),
    configSha256: String(raw.config_sha256 ?? ''),
    height: input.height,
    width: input.width,
    inputScale: scale,
    preprocessing: pre,
    postprocess: {
      threshold: post.threshold,
      minArea: post.min_area,
      largestComponent: Boolean(post.largest_component),
      presenceThreshold: post.presence_threshold,
      presenceGate: Boolean(post.presence_gate),
    },
    classes: raw.classes.map((c, i) => ({
      name: String(c.name), value: c.value, color: c.color ?? classColor(c.name, i),
    })),
    presenceOutput: Boolean(raw.presence_output),
  };
}

// ------------------------------------------------------------------ section 1: frame -> pixels

/** Pillow's convert("L") of interleaved RGBA bytes (canvas ImageData): alpha ignored. */
export function rgbaToGray(rgba, width, height) {
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 4) {
    out[i] = (rgba[j] * 19595 + rgba[j + 1] * 38470 + rgba[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** Interleaved 1/3/4-channel 8-bit bytes, or 16-bit samples, -> 8-bit gray. */
export function toGray(data, width, height, channels, bits = 8) {
  if (bits === 16) {
    const out = new Uint8Array(width * height);
    for (let i = 0; i < out.length; i++) {
      const v = Math.min(65535, Math.max(0, data[i]));
      out[i] = Math.floor((v * 255 + 32767) / 65535);
    }
    return out;
  }
  if (channels === 1) return Uint8Array.from(data);
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += channels) {
    out[i] = (data[j] * 19595 + data[j + 1] * 38470 + data[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

const PRECISION_BITS = 32 - 8 - 2;

/** Resample.c precompute_coeffs for box (0, inSize) and the triangle (BILINEAR) filter. */
function precompute(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    let ww = 0.0;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const k = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      let t = (x + xmin - center + 0.5) * ss;
      if (t < 0) t = -t;
      const w = t < 1.0 ? 1.0 - t : 0.0;
      weights[k + x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) if (ww !== 0.0) weights[k + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  // normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point
  const fixed = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    fixed[i] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
  }
  return { ksize, bounds, fixed };
}

function clip8(ss) {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function horizontalPass(src, inW, outW, row0, rows) {
  const { ksize, bounds, fixed } = precompute(inW, outW);
  const out = new Uint8Array(outW * rows);
  for (let yy = 0; yy < rows; yy++) {
    const rowStart = (yy + row0) * inW;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const k = xx * ksize;
      let ss = 1 << (PRECISION_BITS - 1);
      for (let x = 0; x < xmax; x++) ss += src[rowStart + x + xmin] * fixed[k + x];
      out[yy * outW + xx] = clip8(ss);
    }
  }
  return out;
}

function verticalPass(src, width, outH, rowOffset, coeffs) {
  const { ksize, bounds, fixed } = coeffs;
  const out = new Uint8Array(width * outH);
  for (let yy = 0; yy < outH; yy++) {
    const k = yy * ksize;
    const ymin = bounds[yy * 2] - rowOffset;
    const ymax = bounds[yy * 2 + 1];
    for (let xx = 0; xx < width; xx++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) ss += src[(y + ymin) * width + xx] * fixed[k + y];
      out[yy * width + xx] = clip8(ss);
    }
  }
  return out;
}

/** Pillow 13's Image.resize((outW, outH), BILINEAR) of an 8-bit gray plane, bit for bit. */
export function resizeBilinear(src, inW, inH, outW, outH) {
  if (inW === outW && inH === outH) return Uint8Array.from(src);
  const needH = outW !== inW;
  const needV = outH !== inH;
  if (needH && needV && outH < inH && inH - outH > 2 * (inW - outW)) {
    const tmp = verticalPass(src, inW, outH, 0, precompute(inH, outH));
    return horizontalPass(tmp, inW, outW, 0, outH);
  }
  if (!needV) return horizontalPass(src, inW, outW, 0, inH);
  if (!needH) return verticalPass(src, inW, outH, 0, precompute(inH, outH));
  const vert = precompute(inH, outH);
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];
  const tmp = horizontalPass(src, inW, outW, yFirst, yLast - yFirst);
  return verticalPass(tmp, outW, outH, yFirst, vert);
}

/** Pillow's Image.resize((outW, outH), NEAREST) of an 8-bit plane (ImagingScaleAffine). */
export function resizeNearest(src, inW, inH, outW, outH) {
  if (inW === outW && inH === outH) return Uint8Array.from(src);
  const ax = inW / outW;
  const ay = inH / outH;
  const xin = new Int32Array(outW);
  let xo = ax * 0.5;
  for (let x = 0; x < outW; x++) {
    const xi = xo < 0 ? -1 : Math.trunc(xo);
    xin[x] = xi >= 0 && xi < inW ? xi : -1;
    xo += ax;
  }
  const out = new Uint8Array(outW * outH);
  let yo = ay * 0.5;
  for (let y = 0; y < outH; y++) {
    const yi = yo < 0 ? -1 : Math.trunc(yo);
    if (yi >= 0 && yi < inH) {
      const row = yi * inW;
      for (let x = 0; x < outW; x++) if (xin[x] >= 0) out[y * outW + x] = src[row + xin[x]];
    }
    yo += ay;
  }
  return out;
}

/** Percentile stretch in integers (section 1 step 5). */
export function percentileStretch(img, low, high) {
  const cdf = new Float64Array(256);
  for (let i = 0; i < img.length; i++) cdf[img[i]]++;
  for (let v = 1; v < 256; v++) cdf[v] += cdf[v - 1];
  const n = cdf[255];
  const loTarget = (n * low) / 100.0;
  const hiTarget = (n * high) / 100.0;
  let lo = 256;
  for (let v = 0; v < 256; v++) if (cdf[v] > loTarget) { lo = v; break; }
  let hi = 256;
  for (let v = 0; v < 256; v++) if (cdf[v] >= hiTarget) { hi = v; break; }
  if (hi <= lo) return Uint8Array.from(img);
  const span = hi - lo;
  const lut = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    const c = Math.min(Math.max(x, lo), hi) - lo;
    lut[x] = Math.floor((2 * 255 * c + span) / (2 * span));
  }
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = lut[img[i]];
  return out;
}

/** Gray frame (any size) -> uint8 pixels at model size: resize, then normalise. */
export function prepare(meta, gray, width, height) {
  const resized = resizeBilinear(gray, width, height, meta.width, meta.height);
  if (meta.preprocessing.normalize === 'percentile') {
    const [low, high] = meta.preprocessing.percentiles;
    return percentileStretch(resized, low, high);
  }
  return resized;
}

// ------------------------------------------------------------------ section 2: quantization

const QRANGE = { uint8: [0, 255], int8: [-128, 127] };

/** The input value of each pixel value 0..255 for a tensor {dtype, scale, zeroPoint}. */
export function inputTable(meta, tensor) {
  const standard = Math.abs(meta.inputScale - PIXEL_SCALE) <= 1e-12 * Math.max(meta.inputScale, PIXEL_SCALE);
  const table = tensor.dtype === 'float32' ? new Float32Array(256) : new Int32Array(256);
  for (let p = 0; p < 256; p++) {
    const x = standard ? p / 255.0 : p * meta.inputScale;
    if (tensor.dtype === 'float32') {
      table[p] = x;
    } else {
      const [qmin, qmax] = QRANGE[tensor.dtype];
      const q = Math.floor(x / tensor.scale + 0.5) + tensor.zeroPoint;
      table[p] = Math.min(Math.max(q, qmin), qmax);
    }
  }
  return table;
}

/** p = (q - z) * s in float64; float32 tensors as they are. */
export function dequantize(values, tensor) {
  const out = new Float64Array(values.length);
  if (tensor.dtype === 'float32') {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
  } else {
    for (let i = 0; i < values.length; i++) out[i] = (values[i] - tensor.zeroPoint) * tensor.scale;
  }
  return out;
}

// ------------------------------------------------------------------ section 3: output -> masks

/** 8-connected components, numbered 1.. in raster order of their first pixel. */
function labelComponents(plane, width, height) {
  const n = width * height;
  const labels = new Int32Array(n);
  const sizes = [];
  const queue = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (plane[start] === 0 || labels[start] !== 0) continue;
    const label = sizes.length + 1;
    labels[start] = label;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const p = queue[head++];
      const py = Math.floor(p / width);
      const px = p - py * width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if ((dy === 0 && dx === 0) || nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (plane[q] !== 0 && labels[q] === 0) {
            labels[q] = label;
            queue[tail++] = q;
          }
        }
      }
    }
    sizes.push(tail);
  }
  return { labels, sizes };
}

function removeSmall(plane, width, height, minArea) {
  if (minArea <= 1 || !plane.some((v) => v)) return plane;
  const { labels, sizes } = labelComponents(plane, width, height);
  return plane.map((_, i) => (labels[i] !== 0 && sizes[labels[i] - 1] >= minArea ? 1 : 0));
}

function largest(plane, width, height) {
  if (!plane.some((v) => v)) return plane;
  const { labels, sizes } = labelComponents(plane, width, height);
  let best = 0;
  for (let k = 1; k < sizes.length; k++) if (sizes[k] > sizes[best]) best = k;
  return plane.map((_, i) => (labels[i] === best + 1 ? 1 : 0));
}

/**
 * HxWxC float64 probabilities -> HxWxC 0/1 Uint8Array at model size: threshold (p >= t), the
 * presence gate, then per class the minimum area and the largest component.
 */
export function probabilitiesToMask(prob, width, height, channels, presence, post) {
  const gated = post.presenceGate && presence !== null && presence < post.presenceThreshold;
  const n = width * height;
  const out = new Uint8Array(n * channels);
  for (let c = 0; c < channels; c++) {
    let plane = new Uint8Array(n);
    if (!gated) for (let i = 0; i < n; i++) plane[i] = prob[i * channels + c] >= post.threshold ? 1 : 0;
    plane = removeSmall(plane, width, height, post.minArea);
    if (post.largestComponent) plane = largest(plane, width, height);
    for (let i = 0; i < n; i++) out[i * channels + c] = plane[i];
  }
  return out;
}

/** HxWxC masks at model size -> at the frame's size, Pillow NEAREST per channel. */
export function masksToFrame(mask, width, height, channels, outW, outH) {
  if (width === outW && height === outH) return mask;
  const out = new Uint8Array(outW * outH * channels);
  const plane = new Uint8Array(width * height);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane.length; i++) plane[i] = mask[i * channels + c];
    const big = resizeNearest(plane, width, height, outW, outH);
    for (let i = 0; i < big.length; i++) out[i * channels + c] = big[i];
  }
  return out;
}

// ------------------------------------------------------------------ section 4: overlay

/**
 * RGBA pixels (ImageData) of the classes' colours over the gray frame: on mask pixels
 * (base*(256-A) + colour*A + 128) >> 8, A = OVERLAY_ALPHA by default (the contract's value;
 * the page's opacity slider changes it for display). outline: paint only the mask's border
 * (a mask pixel with a 4-neighbour outside it) in full colour.
 */
export function overlayRgba(gray, mask, width, height, classes, alpha = OVERLAY_ALPHA, outline = false) {
  const channels = classes.length;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < gray.length; i++) {
    out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = gray[i];
    out[4 * i + 3] = 255;
  }
  for (let c = 0; c < channels; c++) {
    const [r, g, b] = classes[c].color;
    const on = (x, y) => x >= 0 && y >= 0 && x < width && y < height && mask[(y * width + x) * channels + c] !== 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (mask[i * channels + c] === 0) continue;
        if (outline) {
          if (on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1)) continue;
          out[4 * i] = r; out[4 * i + 1] = g; out[4 * i + 2] = b;
        } else {
          const base = gray[i];
          out[4 * i] = (base * (256 - alpha) + r * alpha + 128) >> 8;
          out[4 * i + 1] = (base * (256 - alpha) + g * alpha + 128) >> 8;
          out[4 * i + 2] = (base * (256 - alpha) + b * alpha + 128) >> 8;
        }
      }
    }
  }
  return out;
}
