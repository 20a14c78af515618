"""Reading frames and masks with Pillow + numpy: grayscale, 8-bit, labels per class."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgeseg.errors import DataError

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


# The largest frame edgeseg decodes: 40 megapixels (e.g. 8000x5000), far above any ultrasound
# frame, far below what a small hostile PNG can claim (20000x20000 in 388 KB). Checked from the
# header, before any pixel is decoded; pass ``max_pixels`` to change it. Pillow refuses on its
# own above 2 * Image.MAX_IMAGE_PIXELS (~179 megapixels) whatever is passed here.
MAX_PIXELS = 40_000_000
# Our own limit is checked right after Pillow's; its warning between 89 and 179 megapixels would
# only repeat it (as a second line) when a caller raises max_pixels that far on purpose.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _too_large(path: Path, width: int, height: int, max_pixels: int) -> DataError:
    return DataError(
        f"{path}: {width}x{height} is {width * height:,} pixels, above the limit of "
        f"{max_pixels:,} (a decompression bomb?): downscale it, or raise --max-pixels"
    )


def _open(path: Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    try:
        img = Image.open(path)
        width, height = img.size
        if width * height > max_pixels:
            img.close()
            raise _too_large(path, width, height, max_pixels)
        img.load()
    except Image.DecompressionBombError as exc:
        raise DataError(
            f"{path}: more pixels than Pillow decodes safely (a decompression bomb?): downscale it"
        ) from exc
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except OSError as exc:
        if exc.errno is not None and not isinstance(exc, UnidentifiedImageError):
            raise  # the system's fault (EMFILE, EACCES, EIO), not the image's: the CLI says so
        raise _unreadable(path, exc) from exc
    except (SyntaxError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    return img


def _unreadable(path: Path, exc: Exception) -> DataError:
    return DataError(
        f"{path}: unreadable image ({exc.__class__.__name__}: truncated or not an image); "
        "re-export it or remove it"
    )


def to_gray8(img: Image.Image | np.ndarray) -> np.ndarray:
    """Any frame -> 8-bit grayscale HxW.

    RGB(A) uses Pillow's ITU-R 601-2 luma; 16-bit and 32-bit integer frames map their full range
    0..65535 onto 0..255 (``(v * 255 + 32767) // 65535``); float frames in [0, 1] are scaled by 255.
    """
    if isinstance(img, Image.Image):
        if img.mode in ("L",):
            return np.asarray(img, dtype=np.uint8).copy()
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            return to_gray8(np.asarray(img))
        if img.mode == "F":
            return to_gray8(np.asarray(img, dtype=np.float32))
        return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    arr = np.asarray(img)
    if arr.ndim == 3:
        if arr.shape[2] == 1:
            arr = arr[..., 0]
        elif arr.shape[2] in (3, 4):
            if arr.dtype != np.uint8:
                arr = np.stack([to_gray8(arr[..., i]) for i in range(3)], axis=-1)
            return np.asarray(Image.fromarray(arr[..., :3].astype(np.uint8)).convert("L"))
        else:
            raise DataError(f"frame has {arr.shape[2]} channels: expected 1 (gray), 3 or 4 (RGB)")
    if arr.ndim != 2:
        raise DataError(f"frame has shape {arr.shape}: expected HxW or HxWxC")
    if arr.dtype == np.uint8:
        return arr.copy()
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    wide = np.clip(arr.astype(np.int64), 0, 65535)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def read_gray(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a frame (PNG, TIFF, JPEG, BMP; gray or RGB; 8 or 16 bit) as uint8 HxW.

    A frame above ``max_pixels`` (from its header) is a DataError before decoding.
    """
    return to_gray8(_open(Path(path), max_pixels))


# Frames above this many pixels are reduced when read as a runtime frame (``read_frame``): a
# 25 MP phone photo is never held at full size. 2048x2048, above any ultrasound frame. The same
# number is FrameReduction.MAX_FRAME_PIXELS in the Android core (runtime contract, section 0.2).
FRAME_PIXELS = 2048 * 2048
EXIF_ORIENTATION_TAG = 0x0112


def reduce_factor(width: int, height: int, limit: int = FRAME_PIXELS) -> int:
    """The smallest integer f with ceil(width/f) * ceil(height/f) <= limit (1: keep as is)."""
    if width <= 0 or height <= 0 or limit <= 0:
        raise DataError(f"frame {width}x{height} and limit {limit} must be positive")
    f = 1
    while -(-width // f) * -(-height // f) > limit:
        f += 1
    return f


def reduce_gray(gray: np.ndarray, factor: int) -> np.ndarray:
    """Box-reduce uint8 HxW by an integer factor: the mean of each f x f block (smaller at the
    right and bottom edges), rounded half up in integers, ``(sum + n // 2) // n``.

    Blocks start at the top-left corner of the frame as stored (before EXIF orientation).
    """
    if factor == 1:
        return gray
    if factor < 1:
        raise DataError(f"reduction factor {factor}: expected 1 or more")
    h, w = gray.shape
    rows = np.arange(0, h, factor)
    cols = np.arange(0, w, factor)
    sums = np.add.reduceat(np.add.reduceat(gray.astype(np.int64), rows, axis=0), cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    return ((sums + counts // 2) // counts).astype(np.uint8)


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation code of an opened image (1 when absent or unreadable)."""
    try:
        value = img.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError):  # a damaged EXIF block: pixels as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def orient_gray(gray: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a frame upright by its EXIF orientation code (as ``ImageOps.exif_transpose``): exact
    transposes for 2..8; 1 and any other value leave it as stored."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].T,
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return gray if op is None else np.ascontiguousarray(op(gray))


def read_frame(
    path: Path, max_pixels: int = MAX_PIXELS, frame_pixels: int = FRAME_PIXELS
) -> np.ndarray:
    """Read a frame as the runtime and the Android app see it (runtime contract, section 0):
    gray as ``read_gray``, reduced by ``reduce_factor`` when above ``frame_pixels``, then turned
    upright by its EXIF orientation. Training data keeps ``read_gray`` (its masks are stored
    in the same orientation and size as the frames)."""
    img = _open(Path(path), max_pixels)
    orientation = exif_orientation(img)
    gray = to_gray8(img)
    gray = reduce_gray(gray, reduce_factor(gray.shape[1], gray.shape[0], frame_pixels))
    return orient_gray(gray, orientation)


def read_label(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a mask as its raw integer values HxW (palette indices for 'P' masks)."""
    return _label_values(_open(Path(path), max_pixels), path)


def _label_values(img: Image.Image, path: Path) -> np.ndarray:
    if img.mode == "P":
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode in ("RGB", "RGBA"):
        arr = np.asarray(img)
        if not (
            np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])
        ):
            raise DataError(
                f"{path}: colour mask; save masks as 8-bit grayscale (0/255) "
                "or palette (indexed) PNGs"
            )
        return arr[..., 0].astype(np.uint8)
    if img.mode == "1":
        return np.asarray(img, dtype=np.uint8)
    arr = np.asarray(img)
    if arr.ndim != 2:
        raise DataError(f"{path}: mask has shape {arr.shape}; expected one channel")
    if arr.max(initial=0) > 255:
        raise DataError(f"{path}: mask values up to {arr.max()}; expected 0..255")
    return arr.astype(np.uint8)


def labels_to_channels(
    label: np.ndarray, values: Sequence[int], path: Path | str = "mask", indexed: bool = False
) -> np.ndarray:
    """Raw mask values -> HxWxC binary masks, one channel per class value.

    Indexed (palette) masks are read through the class values: channel c is ``label == value``,
    and values outside the class map are background (so the default ``nerve=1`` reads a
    nerve=1/vessel=2 mask as nerve only, and a vessel-only frame as an empty nerve frame).
    A grayscale mask with a single non-zero value that is not a class value (e.g. 0/255) is
    binary: its foreground is the first class. A grayscale mask with several values of which
    none is in the class map is an error, not a guess.
    """
    nonzero = np.unique(label)
    nonzero = nonzero[nonzero != 0]
    if not indexed and nonzero.size == 1 and int(nonzero[0]) not in values:
        out = np.zeros(label.shape + (len(values),), dtype=np.uint8)
        out[..., 0] = label != 0
        return out
    if not indexed and nonzero.size > 1 and not set(nonzero.tolist()) & set(values):
        raise DataError(
            f"{path}: mask is not binary (values {[0, *nonzero.tolist()]}) and none is in the "
            f"class map {list(values)}; pass e.g. --classes nerve=1,vessel=2"
        )
    return np.stack([(label == v) for v in values], axis=-1).astype(np.uint8)


def read_mask_labels(path: Path, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, bool]:
    """A mask's raw values HxW and whether they are palette indices (``indexed``)."""
    img = _open(Path(path), max_pixels)
    return _label_values(img, path), img.mode == "P"


def read_mask(path: Path, values: Sequence[int], max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a mask file as HxWxC binary channels (see ``labels_to_channels``)."""
    label, indexed = read_mask_labels(path, max_pixels)
    return labels_to_channels(label, values, path, indexed=indexed)


def resize_gray(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 HxW to (height, width) with Pillow bilinear (the runtime contract)."""
    h, w = size
    if img.shape == (h, w):
        return img
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a binary/label mask (HxW or HxWxC) with nearest neighbour."""
    h, w = size
    if mask.shape[:2] == (h, w):
        return mask
    if mask.ndim == 3:
        return np.stack([resize_mask(mask[..., i], size) for i in range(mask.shape[2])], axis=-1)
    return np.asarray(Image.fromarray(mask).resize((w, h), Image.NEAREST))
