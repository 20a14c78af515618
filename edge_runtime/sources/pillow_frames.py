"""A Pillow image (one file, or one page of a TIFF) -> the array a SourceFrame carries."""

from __future__ import annotations

import numpy as np
from PIL import Image

from edgeseg.imaging import to_gray8


def pillow_array(img: Image.Image) -> np.ndarray:
    """8-bit gray, 16-bit gray or RGB as decoded; other modes through the contract's gray rule.

    ``L`` -> uint8 HxW; ``I;16*`` -> uint16 HxW (the contract maps 0..65535 to 0..255);
    ``RGB`` -> uint8 HxWx3; anything else (palette, RGBA, CMYK, 32-bit) -> ``to_gray8``.
    """
    if img.mode == "L":
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if img.mode == "RGB":
        return np.asarray(img, dtype=np.uint8).copy()
    return to_gray8(img)
