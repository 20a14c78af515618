// Frame sources for the page. Each gives gray frames (Pillow's luma of the decoded RGB) through
// `next()`: {gray, width, height} or null when no new frame is ready. Camera and video decode in
// the browser; images decode with createImageBitmap; the bundled phantom clip is crops of one
// lossless PNG (web_demo/tools/make_clip.py), so its frames are exactly the ones Python makes.

import { rgbaToGray } from './contract.js';

/** A problem with an input, worded for the page. */
export class SourceError extends Error {}

const scratch = document.createElement('canvas');
const scratchCtx = scratch.getContext('2d', { willReadFrequently: true });

function grayOf(drawable, width, height, sx = 0, sy = 0) {
  scratch.width = width;
  scratch.height = height;
  scratchCtx.drawImage(drawable, sx, sy, width, height, 0, 0, width, height);
  const rgba = scratchCtx.getImageData(0, 0, width, height).data;
  return { gray: rgbaToGray(rgba, width, height), width, height };
}

/** A <video> element playing a camera stream or a file: one gray frame per decoded frame. */
class VideoSource {
  constructor(video, kind, stop) {
    this.video = video;
    this.kind = kind;
    this.stopFn = stop;
    this.lastTime = -1;
  }

  next() {
    const v = this.video;
    if (v.readyState < 2 || !v.videoWidth) return null;
    if (v.currentTime === this.lastTime && this.kind !== 'camera') return null;
    this.lastTime = v.currentTime;
    return grayOf(v, v.videoWidth, v.videoHeight);
  }

  stop() { this.stopFn?.(); }
}

/** The tablet's camera, the rear one when there is one. Needs HTTPS or localhost. */
export async function openCamera(video) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new SourceError(`the camera needs a secure page (HTTPS, or http://localhost): this page is ${location.origin}; see web_demo/README.md`);
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (err) {
    throw new SourceError(`the camera could not be opened (${err.name}: ${err.message})`);
  }
  video.srcObject = stream;
  await video.play();
  return new VideoSource(video, 'camera', () => {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  });
}

/** A video file, looped. */
export async function openVideoFile(video, file) {
  const url = URL.createObjectURL(file);
  video.srcObject = null;
  video.src = url;
  video.loop = true;
  try {
    await video.play();
  } catch (err) {
    URL.revokeObjectURL(url);
    video.removeAttribute('src');
    throw new SourceError(`${file.name} is not a video this browser can play (${err.name})`);
  }
  const source = new VideoSource(video, 'file', () => {
    video.pause();
    video.removeAttribute('src');
    URL.revokeObjectURL(url);
  });
  source.name = file.name;
  return source;
}

/** Decode image files to gray frames; an undecodable file is a SourceError naming it. */
export async function readImages(files) {
  const frames = [];
  for (const file of files) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      throw new SourceError(`${file.name} is not an image this browser can decode (PNG, JPEG, WebP, BMP, GIF): nothing was segmented`);
    }
    frames.push({ name: file.name, ...grayOf(bitmap, bitmap.width, bitmap.height) });
    bitmap.close();
  }
  return frames;
}

/** The bundled phantom clip: a window sweeping over a phantom PNG, played at its fps. */
export async function openClip(base = 'clip/phantom') {
  const info = await (await fetch(`${base}.json`)).json();
  const image = new Image();
  image.src = `${base}.png`;
  await image.decode();
  const frames = info.offsets.map(([y, x]) => grayOf(image, info.width, info.height, x, y));
  const start = performance.now();
  let last = -1;
  return {
    kind: 'clip',
    info,
    frames,
    next() {
      const k = Math.floor(((performance.now() - start) / 1000) * info.fps) % info.frames;
      if (k === last) return null;
      last = k;
      return { ...frames[k], index: k };
    },
    stop() {},
  };
}
