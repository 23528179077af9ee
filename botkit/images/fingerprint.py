"""Perceptual fingerprints: a re-shared copy of a picture (resized, recompressed, with a
border, a watermark or lightly cropped) stays within a few bits of the original, and other
pictures, even other notices laid out alike, stay far.

A plain DCT hash of the whole picture (imagehash.phash, 8×8) cannot tell one typed notice
from another (a white page with black lines looks the same at 8×8), and a crop of a few per
cent shifts the lines a finer hash sees. So a picture with text is hashed on its text: the
box holding the dark, thin strokes on a light ground (letters), found after any uniform frame
is trimmed, hashed at 16×16 (256 bits). A crop that spares the text, a border, a corner logo
or a status bar leave that box where it was. A picture with no text, or little (a photo, a
sign in one), is hashed whole at 8×8, each bit repeated four times, so that distances are in
the same 256-bit units.

Measured (bench/bench_images.py, 256 bits): copies of text pictures within 42 bits, other
notices 76 or more; copies of photos within 40, but for crops of 8 % a side (up to 72).
Copies shrunk under about 300 px wide lose their letters and are not recognised.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

BITS = 256
_WORK_SIDE = 512  # pixels of the longer side everything below is measured at
_TRIM_TOLERANCE = 12  # mean distance from the frame's colour of a row still part of the frame
_SHAVE = 2  # pixels more taken off a trimmed side: the frame's edge blurred by resampling
_STROKE = 5  # a letter's stroke is narrower than this (pixels at the working size)
_INK = 60  # how much darker than its surroundings a stroke is
_LIGHT = 150  # a letter's ground is at least this light (a page, not a coloured bar)
_EDGE = 3  # pixels along the edges never counted as text (a frame's blurred edge)
_MIN_INK = 0.002  # share of the picture's area, in full-strength ink, that makes it text
_MIN_BOX = 0.05  # share of the picture a text box covers at least (else: a photo with a sign)
_QUANTILE = 0.02  # the text box holds the ink but this share on each side
_PAD = 0.04  # the box grown by this share of its size before hashing


def _shrink(image: Image.Image) -> Image.Image:
    rgb = image.convert("RGB")
    if max(rgb.size) > _WORK_SIDE:
        rgb.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BOX)
    return rgb


def trim_border(image: Image.Image) -> Image.Image:
    """The picture without a uniform frame around it: rows (columns) of its top-left pixel's
    colour along both its top and bottom (left and right) edges. Along one edge only, they
    are the picture's own (a sky, a status bar), which the original has too."""
    rgb = image.convert("RGB")
    pixels = np.asarray(rgb, dtype=np.int16)
    h, w, _ = pixels.shape
    if h < 16 or w < 16:
        return rgb
    diff = np.abs(pixels - pixels[0, 0])
    off = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])
    near = off <= 2 * _TRIM_TOLERANCE
    rows = (near.mean(axis=1) >= 0.99) & (off.mean(axis=1) <= _TRIM_TOLERANCE)
    cols = (near.mean(axis=0) >= 0.99) & (off.mean(axis=0) <= _TRIM_TOLERANCE)
    keep_rows, keep_cols = np.flatnonzero(~rows), np.flatnonzero(~cols)
    if keep_rows.size == 0 or keep_cols.size == 0:
        return rgb  # one colour only: nothing to trim to
    top, bottom = int(keep_rows[0]), int(keep_rows[-1]) + 1
    left, right = int(keep_cols[0]), int(keep_cols[-1]) + 1
    if top == 0 or bottom == h:
        top, bottom = 0, h
    if left == 0 or right == w:
        left, right = 0, w
    if (top, bottom, left, right) == (0, h, 0, w):
        return rgb
    if (bottom - top) * (right - left) < 0.2 * w * h:
        return rgb  # a small object on a plain ground: the ground is the picture
    top, left = top + (_SHAVE if top else 0), left + (_SHAVE if left else 0)
    bottom, right = bottom - (_SHAVE if bottom < h else 0), right - (_SHAVE if right < w else 0)
    return rgb.crop((left, top, right, bottom))


def _window_max(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """The maximum over `size` neighbours along `axis` (edges repeated)."""
    half = size // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(a, pad, mode="edge")
    n = a.shape[axis]

    def window(shift: int) -> np.ndarray:
        return padded[shift : shift + n] if axis == 0 else padded[:, shift : shift + n]

    out = window(0).copy()
    for shift in range(1, size):
        np.maximum(out, window(shift), out=out)
    return out


def _ink(grey: np.ndarray) -> np.ndarray:
    """How much darker than its surroundings each pixel is, where it is a thin stroke on a
    light ground (a morphological black top-hat)."""
    dilated = _window_max(_window_max(grey, _STROKE, 0), _STROKE, 1)
    closed = -_window_max(_window_max(-dilated, _STROKE, 0), _STROKE, 1)
    ink = closed - grey
    ink[(ink < _INK) | (closed < _LIGHT)] = 0
    e = _EDGE
    ink[:e], ink[-e:], ink[:, :e], ink[:, -e:] = 0, 0, 0, 0
    return (ink / 255.0) ** 2  # faint marks (a semi-transparent watermark) weigh little


def text_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box around the picture's text, or None if it has too little to tell, or its text
    is a small part of it (a sign in a photo, a caption under one)."""
    grey = image.convert("L")
    scale = _WORK_SIDE / max(grey.size)
    if scale > 1:  # a small picture's letters enlarged to the size the stroke width means
        size = (round(grey.width * scale), round(grey.height * scale))
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    else:
        scale = 1.0
    ink = _ink(np.asarray(grey, dtype=np.int16))
    total = float(ink.sum())
    if total < _MIN_INK * ink.size:
        return None
    across = np.cumsum(ink.sum(axis=0)) / total
    down = np.cumsum(ink.sum(axis=1)) / total
    x0, x1 = np.searchsorted(across, [_QUANTILE, 1 - _QUANTILE])
    y0, y1 = np.searchsorted(down, [_QUANTILE, 1 - _QUANTILE])
    pad_x, pad_y = _PAD * (x1 - x0), _PAD * (y1 - y0)
    if (x1 + 1 - x0) * (y1 + 1 - y0) < _MIN_BOX * ink.size:
        return None
    left, top = round((x0 - pad_x) / scale), round((y0 - pad_y) / scale)
    right, bottom = round((x1 + 1 + pad_x) / scale), round((y1 + 1 + pad_y) / scale)
    return left, top, right, bottom


def fingerprint(image: Image.Image) -> str:
    """256-bit perceptual hash, as 64 hex digits."""
    import imagehash  # with SciPy and PyWavelets: loaded when a picture comes, not at start

    work = trim_border(_shrink(image))
    box = text_box(work)
    if box is None:
        coarse = imagehash.phash(work, hash_size=8).hash
        bits = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)
    else:
        bits = imagehash.phash(work.crop(box), hash_size=16).hash
    value = int("".join("1" if b else "0" for b in bits.flatten()), 2)
    return f"{value:0{BITS // 4}x}"


def distance(a: str, b: str) -> int:
    """Bits that differ between two fingerprints."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
