// The page: pick a source, segment each new frame with the model, draw the overlay, show FPS,
// latency and presence. The threshold slider re-runs post-processing only (the last frame's
// probabilities are kept); opacity and outline only redraw. `window.edgeseg` exposes the same
// functions to the browser tests.

import * as contract from './contract.js';
import { EdgesegModel, inspect, loadRuntime } from './model.js';
import { SourceError, openCamera, openClip, openVideoFile, readImages } from './sources.js';

const $ = (id) => document.getElementById(id);
const view = $('view');
const viewCtx = view.getContext('2d');
const RECENT = 12; // frames kept for the tests (gray + mask), newest last

const state = {
  model: null,
  source: null,
  images: [],
  imageIndex: 0,
  busy: false,
  last: null, // {gray, width, height, prob, presence, mask}
  recent: [],
  frameTimes: [],
  latencies: [],
  frames: 0,
};

function showMessage(text, kind = 'error') {
  const box = $('message');
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}

function errorText(err) {
  return err?.message ? err.message : String(err);
}

// ------------------------------------------------------------------ drawing

function post() {
  return { ...state.model.meta.postprocess, threshold: Number($('threshold').value) };
}

function draw() {
  const f = state.last;
  if (!f) return;
  const alpha = Math.round((Number($('opacity').value) / 100) * 256);
  const rgba = contract.overlayRgba(f.gray, f.mask, f.width, f.height, state.model.meta.classes, alpha, $('outline').checked);
  if (view.width !== f.width || view.height !== f.height) {
    view.width = f.width;
    view.height = f.height;
  }
  viewCtx.putImageData(new ImageData(rgba, f.width, f.height), 0, 0);
  const classes = state.model.meta.classes;
  const found = classes.filter((_, c) => {
    for (let i = c; i < f.mask.length; i += classes.length) if (f.mask[i]) return true;
    return false;
  });
  const score = f.presence === null ? '' : ` (${f.presence.toFixed(2)})`;
  $('presence').dataset.state = found.length ? 'present' : 'absent';
  $('presence-score').value = `${found.length ? found.map((c) => c.name).join(', ') : 'none'}${score}`;
}

function updateStats(totalMs, invokeMs) {
  const now = performance.now();
  state.frameTimes.push(now);
  while (state.frameTimes.length && now - state.frameTimes[0] > 1000) state.frameTimes.shift();
  state.latencies.push([totalMs, invokeMs]);
  if (state.latencies.length > 30) state.latencies.shift();
  const mean = (k) => state.latencies.reduce((s, l) => s + l[k], 0) / state.latencies.length;
  $('fps').value = String(state.frameTimes.length);
  $('latency').value = `${mean(0).toFixed(1)} ms`;
  $('invoke').value = `${mean(1).toFixed(2)} ms`;
}

// ------------------------------------------------------------------ segmenting

async function segmentFrame(frame) {
  const r = await state.model.segment(frame.gray, frame.width, frame.height, post());
  state.frames += 1;
  state.last = { ...frame, prob: r.prob, presence: r.presence, mask: r.mask, maskModel: r.maskModel };
  state.recent.push({ gray: frame.gray, width: frame.width, height: frame.height, mask: r.mask, index: frame.index ?? null });
  if (state.recent.length > RECENT) state.recent.shift();
  updateStats(r.timings.totalMs, r.timings.invokeMs);
  draw();
  return r;
}

/** The threshold changed: post-process the last frame's kept probabilities again, no inference. */
function repostprocess() {
  $('threshold-value').value = Number($('threshold').value).toFixed(2);
  const f = state.last;
  if (!f || !state.model) return;
  const masks = state.model.masks(f.prob, f.presence, post(), f.width, f.height);
  f.mask = masks.frame;
  f.maskModel = masks.model;
  draw();
}

async function loop() {
  if (state.source && state.model && !state.busy) {
    const frame = state.source.next();
    if (frame) {
      state.busy = true;
      try {
        await segmentFrame(frame);
      } catch (err) {
        showMessage(`segmenting failed: ${errorText(err)}`);
        stopSource();
      } finally {
        state.busy = false;
      }
    }
  }
  requestAnimationFrame(loop);
}

function stopSource() {
  state.source?.stop();
  state.source = null;
  $('next-image').hidden = true;
  $('source-name').textContent = '';
}

function sourceLabel(source) {
  if (source.kind === 'clip') return `phantom clip: ${source.info.source}`;
  if (source.kind === 'camera') return 'camera';
  return `video: ${source.name ?? ''}`;
}

async function startSource(open) {
  stopSource();
  try {
    state.source = await open();
    $('source-name').textContent = sourceLabel(state.source);
    showMessage('');
  } catch (err) {
    state.source = null;
    showMessage(err instanceof SourceError ? err.message : `cannot open the input: ${errorText(err)}`);
  }
}

async function showImages(files) {
  stopSource();
  try {
    state.images = await readImages(files);
  } catch (err) {
    showMessage(errorText(err));
    return;
  }
  state.imageIndex = 0;
  showMessage('');
  $('source-name').textContent = `image: ${state.images[0].name} (1 of ${state.images.length})`;
  $('next-image').hidden = state.images.length < 2;
  await segmentFrame(state.images[0]);
}

// ------------------------------------------------------------------ models

async function useModel(bytes, name) {
  try {
    const model = await EdgesegModel.load(bytes, name);
    state.model?.compiled.delete();
    state.model = model;
    $('model-name').textContent = model.label;
    $('threshold').value = String(model.meta.postprocess.threshold);
    $('threshold-value').value = model.meta.postprocess.threshold.toFixed(2);
    showMessage('');
    if (state.last && !state.source) await segmentFrame(state.last);
    return true;
  } catch (err) {
    const text = errorText(err);
    showMessage(text.startsWith(name) ? text : `${name}: ${text}`);
    return false;
  }
}

async function openModelFile(file) {
  return useModel(new Uint8Array(await file.arrayBuffer()), file.name);
}

async function loadServedModel() {
  let name = 'model.tflite';
  let url = 'model.tflite';
  try {
    const info = await (await fetch('model.json')).json();
    ({ name, url } = info);
  } catch {
    // served by a plain static server: model.tflite beside index.html
  }
  const response = await fetch(url);
  if (!response.ok) {
    showMessage(`no model at ${url} (HTTP ${response.status}): start the app with \`edgeseg web MODEL\` or open a .tflite below`);
    $('model-name').textContent = 'no model';
    return false;
  }
  return useModel(new Uint8Array(await response.arrayBuffer()), name);
}

// ------------------------------------------------------------------ service worker

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  try {
    await navigator.serviceWorker.register('sw.js');
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      // First visit: wait (briefly) for the worker to take this page, so that the WASM and the
      // model fetched next go through it and are cached for offline use.
      await new Promise((resolve) => {
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
        setTimeout(resolve, 3000);
      });
    }
  } catch (err) {
    console.warn('service worker not registered:', err);
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  $('src-camera').onclick = () => startSource(() => openCamera($('video')));
  $('src-clip').onclick = () => startSource(() => openClip());
  $('src-video').onchange = (e) => e.target.files[0] && startSource(() => openVideoFile($('video'), e.target.files[0]));
  $('src-images').onchange = (e) => e.target.files.length && showImages([...e.target.files]);
  $('next-image').onclick = () => {
    state.imageIndex = (state.imageIndex + 1) % state.images.length;
    const image = state.images[state.imageIndex];
    $('source-name').textContent = `image: ${image.name} (${state.imageIndex + 1} of ${state.images.length})`;
    segmentFrame(state.images[state.imageIndex]);
  };
  $('model-file').onchange = (e) => e.target.files[0] && openModelFile(e.target.files[0]);
  $('threshold').oninput = repostprocess;
  $('opacity').oninput = draw;
  $('outline').onchange = draw;
  const stage = $('stage');
  document.addEventListener('dragover', (e) => { e.preventDefault(); stage.classList.add('dragging'); });
  document.addEventListener('dragleave', () => stage.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    stage.classList.remove('dragging');
    const files = [...e.dataTransfer.files];
    const model = files.find((f) => f.name.toLowerCase().endsWith('.tflite'));
    if (model) openModelFile(model);
    else if (files.length) showImages(files);
  });
}

async function start() {
  wire();
  await registerServiceWorker();
  const params = new URLSearchParams(location.search);
  try {
    await loadRuntime(params.get('threads') === '1');
  } catch (err) {
    showMessage(`LiteRT.js could not start in this browser: ${errorText(err)}`);
    return false;
  }
  const ok = await loadServedModel();
  requestAnimationFrame(loop);
  const autostart = params.get('source');
  if (ok && autostart === 'camera') await startSource(() => openCamera($('video')));
  else if (ok && autostart !== 'none') await startSource(() => openClip());
  return ok;
}

// For the browser tests and the benchmark: the page's own functions.
window.edgeseg = {
  ready: start(),
  state,
  contract,
  inspect,
  useModel,
  segmentFrame,
  stopSource,
  /** Bytes <-> base64 text: how the tests move frames and masks in and out quickly. */
  toBase64(bytes) {
    const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let text = '';
    for (let i = 0; i < u8.length; i += 0x8000) text += String.fromCharCode(...u8.subarray(i, i + 0x8000));
    return btoa(text);
  },
  fromBase64(text) {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  },
  /** Segment one frame (base64 of HxW gray or HxWxC RGB(A) bytes) as the page does. */
  async segmentBase64(data, width, height, channels = 1) {
    const bytes = window.edgeseg.fromBase64(data);
    const gray = channels === 1 ? bytes : contract.toGray(bytes, width, height, channels);
    const r = await state.model.segment(gray, width, height);
    const b64 = window.edgeseg.toBase64;
    return {
      pixels: b64(r.pixels),
      maskValues: b64(r.raw.maskValues),
      presence: r.presence,
      mask: b64(r.mask),
      maskModel: b64(r.maskModel),
    };
  },
  /** Mean invoke time (ms) over n runs of one model-size input, after `warmup` runs. */
  async benchmark(n = 200, warmup = 20) {
    const pixels = new Uint8Array(state.model.meta.width * state.model.meta.height).map((_, i) => (i * 37) % 256);
    const times = [];
    for (let k = 0; k < warmup + n; k++) {
      const r = await state.model.infer(pixels);
      if (k >= warmup) times.push(r.invokeMs);
    }
    return times;
  },
};
