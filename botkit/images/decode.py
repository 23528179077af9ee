"""Bytes → a decoded picture, or one line saying why not.

Pictures come from strangers: a decompression bomb, a truncated file or a PDF named
`.jpg` must cost a log line, never the worker.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Formats residents' phones and chat apps produce. Pillow's other decoders (EPS through
# Ghostscript, and many rarely fuzzed ones) are never offered a stranger's bytes.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


class BadImage(Exception):
    """A picture refused; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int


def decode(data: bytes, limits: ImageLimits) -> Image.Image:
    """The picture as RGB (its first frame, for an animation)."""
    if len(data) > limits.max_bytes:
        raise BadImage(f"{len(data):,} bytes, over the limit of {limits.max_bytes:,}")
    if not data:
        raise BadImage("empty file")
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it; here that is a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size  # from the header: nothing is decompressed yet
            if width * height > limits.max_pixels:
                raise BadImage(
                    f"{width}×{height} pixels, over the limit of {limits.max_pixels:,}"
                    " (a decompression bomb?)"
                )
            image.load()
            return image.convert("RGB")
        except BadImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadImage(f"decompression bomb refused: {exc}") from None
        except UnidentifiedImageError:
            raise BadImage("not a picture (unknown or unsupported format)") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise BadImage(f"corrupt or truncated picture: {exc}") from None
