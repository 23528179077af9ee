"""Text in pictures, read by Tesseract (Debian's `tesseract-ocr` and `tesseract-ocr-vie`).

Tesseract runs as a child process: pytesseract kills it when the time limit passes, so a
picture that would take minutes costs `timeout_seconds` and a log line.
"""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

# One thread per OCR: the classifier shares the machine's cores with it. Set before the first
# tesseract child is started, which inherits the environment.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

_MIN_WIDTH = 1200  # a phone's thumbnail of a notice is read better enlarged
_MAX_SIDE = 4000  # beyond this, Tesseract only gets slower
_SKEW_SIDE = 800  # the angle is found on a copy this size: enough for lines of text
_SKEW_ANGLES = [a / 2 for a in range(-12, 13)]  # ±6° by halves: how phones are held


class OcrFailed(Exception):
    """OCR gave no text for this picture: the message says why, in one line."""


@functools.cache  # what is installed does not change while the process runs
def unavailable(language: str) -> str | None:
    """Why OCR cannot run here, or None if it can."""
    if shutil.which("tesseract") is None:
        return "tesseract is not installed (Debian: apt-get install tesseract-ocr-vie)"
    import pytesseract

    try:
        have = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # a broken installation: say what it said
        return f"tesseract does not start: {exc}"
    missing = [lang for lang in language.split("+") if lang not in have]
    if missing:
        return (
            f"tesseract has no {'+'.join(missing)} model "
            f"(Debian: apt-get install {' '.join('tesseract-ocr-' + m for m in missing)})"
        )
    return None


def skew(grey: Image.Image) -> float:
    """The angle (degrees) that makes the text's lines level: the rotation whose rows of ink
    are most unequal (lines and the gaps between them, not a smear). A photo of a notice is
    rarely held straight, and Tesseract misreads whole lines past 2° or so (measured:
    bench/bench_images.py)."""
    small = grey.copy()
    small.thumbnail((_SKEW_SIDE, _SKEW_SIDE))
    ink = ImageOps.invert(small)
    best = max(
        (np.asarray(ink.rotate(a, Image.Resampling.BILINEAR), float).sum(axis=1).var(), a)
        for a in _SKEW_ANGLES
    )
    return float(best[1])


def prepare(image: Image.Image) -> Image.Image:
    """Greyscale, level, at a size Tesseract reads well."""
    grey = ImageOps.grayscale(image)
    angle = skew(grey)
    if angle:
        # The corners a rotation opens take the picture's edge colour: white corners on a
        # dark photo read as a page of their own, and Tesseract then finds no text at all.
        pixels = np.asarray(grey)
        edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        grey = grey.rotate(
            angle, Image.Resampling.BICUBIC, expand=True, fillcolor=int(np.median(edge))
        )
    if grey.width < _MIN_WIDTH:
        scale = min(_MIN_WIDTH / grey.width, 3.0)
        grey = grey.resize(
            (round(grey.width * scale), round(grey.height * scale)), Image.Resampling.LANCZOS
        )
    if max(grey.size) > _MAX_SIDE:
        grey.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.LANCZOS)
    return grey


@dataclass(frozen=True, slots=True)
class TesseractReader:
    language: str = "vie"
    timeout_seconds: float = 10.0

    def read(self, image: Image.Image) -> str:
        """The text in the picture (blocking: call it from a worker thread)."""
        import pytesseract

        try:
            text = pytesseract.image_to_string(
                prepare(image), lang=self.language, timeout=self.timeout_seconds
            )
        except RuntimeError as exc:  # pytesseract's way of saying the time limit passed
            raise OcrFailed(f"OCR gave up after {self.timeout_seconds:g} s ({exc})") from None
        except pytesseract.TesseractError as exc:
            raise OcrFailed(f"tesseract failed: {exc.message or exc.status}") from None
        return " ".join(line.strip() for line in text.splitlines() if line.strip())
