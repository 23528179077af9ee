"""Text read from pictures by Tesseract (Debian's tesseract-ocr and tesseract-ocr-vie; CI
installs them: without them these tests fail, they do not skip).

Character accuracy = 1 − Levenshtein distance / length of the text written on the picture,
whitespace runs counted as one space (`samples.char_accuracy`). Measured on this machine
(tesseract 5.3.0, Debian): screenshot 0.977, photo turned 2° 0.937, low-resolution copy 0.996;
the thresholds leave room for another build. bench/bench_images.py measures more pictures.
"""

from __future__ import annotations

import pytesseract
import pytest

from botkit.images.ocr import OcrFailed, TesseractReader, unavailable
from tests.images import samples


@pytest.fixture(scope="module")
def reader() -> TesseractReader:
    why = unavailable("vie")
    if why is not None:
        pytest.fail(f"OCR cannot run here: {why}")
    return TesseractReader("vie")


@pytest.mark.parametrize(
    ("name", "style", "angle", "least", "must_read"),
    [
        ("lockdown", "screenshot", None, 0.95, "phong tỏa toàn bộ huyện"),
        ("wanted", "photo", -2.0, 0.85, "0912 345 678"),
        ("power_cut", "lowres", None, 0.90, "0869 112 233"),
    ],
)
def test_the_text_of_a_notice_is_read(
    reader: TesseractReader,
    name: str,
    style: str,
    angle: float | None,
    least: float,
    must_read: str,
) -> None:
    lines = samples.NOTICES[name]
    text = reader.read(samples.notice(lines, style=style, angle=angle))
    accuracy = samples.char_accuracy("\n".join(lines), text)
    assert accuracy >= least, f"{style}: character accuracy {accuracy:.3f} < {least}: {text!r}"
    assert must_read in text
    assert "\n" not in text  # one line per picture, its lines joined by spaces


def test_ocr_over_its_time_limit_says_so(reader: TesseractReader) -> None:
    big = samples.resized(samples.notice(samples.HOAXES["lockdown"]), 2.0)
    with pytest.raises(OcrFailed) as info:
        TesseractReader(reader.language, timeout_seconds=0.01).read(big)
    reason = str(info.value)
    assert "gave up after 0.01 s" in reason and "\n" not in reason, reason


def test_a_missing_language_model_is_named_with_its_package(reader: TesseractReader) -> None:
    assert unavailable("vie") is None
    have = set(pytesseract.get_languages(config=""))
    missing = next(lang for lang in ("fra", "deu", "jpn", "tha") if lang not in have)
    why = unavailable(f"vie+{missing}")
    assert why is not None
    assert f"no {missing} model" in why and f"tesseract-ocr-{missing}" in why
    assert "tesseract-ocr-vie" not in why
