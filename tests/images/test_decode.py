"""Bytes from strangers → a picture, or BadImage with one line saying why (no OCR here)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from botkit.config import ImageSettings
from botkit.images.decode import BadImage, ImageLimits, decode
from tests.images.samples import HOAXES, notice, to_bytes

LIMITS = ImageLimits(ImageSettings().max_bytes, ImageSettings().max_pixels)


def refused(data: bytes, limits: ImageLimits = LIMITS) -> str:
    with pytest.raises(BadImage) as info:
        decode(data, limits)
    reason = str(info.value)
    assert reason and "\n" not in reason, repr(reason)
    return reason


def two_colours(size: tuple[int, int] = (64, 48)) -> Image.Image:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 40, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


def png_of_one_colour(width: int, height: int) -> bytes:
    """A real PNG of `width`×`height` black 1-bit pixels, built row by row: a huge picture in
    a few kilobytes (what a decompression bomb is)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_a_good_picture_decodes_to_rgb_of_its_size(fmt: str) -> None:
    image = decode(to_bytes(two_colours(), fmt, quality=95), LIMITS)
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    left, right = image.getpixel((8, 24)), image.getpixel((56, 24))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert all(abs(a - b) <= 12 for a, b in zip(left, (200, 30, 30), strict=True)), left
    assert all(abs(a - b) <= 12 for a, b in zip(right, (20, 40, 220), strict=True)), right


def test_an_animation_gives_its_first_frame_in_rgb() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    image = decode(out.getvalue(), LIMITS)
    assert image.mode == "RGB"
    assert image.getpixel((20, 15)) == (255, 0, 0)


def test_a_screenshot_of_a_notice_decodes() -> None:
    picture = notice(HOAXES["lockdown"], style="screenshot")
    assert decode(to_bytes(picture, "PNG"), LIMITS).tobytes() == picture.tobytes()


def test_empty_bytes() -> None:
    assert refused(b"") == "empty file"


def test_a_file_far_over_the_byte_limit_is_refused_before_anything_is_read() -> None:
    data = b"\xff\xd8\xff\xe0" + bytes(3 * LIMITS.max_bytes)
    reason = refused(data)
    assert "over the limit" in reason
    assert f"{LIMITS.max_bytes:,}" in reason and f"{len(data):,} bytes" in reason


def test_a_good_picture_just_over_a_small_byte_limit() -> None:
    data = to_bytes(two_colours(), "PNG")
    assert "over the limit" in refused(data, ImageLimits(len(data) - 1, LIMITS.max_pixels))
    assert decode(data, ImageLimits(len(data), LIMITS.max_pixels)).size == (64, 48)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "Thông báo khẩn: chia sẻ gấp!\n".encode() * 20,
        b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
        # EPS would go to Ghostscript: never offered a stranger's bytes.
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
    ],
    ids=["pdf", "text", "html", "eps"],
)
def test_a_file_named_jpg_that_is_no_picture(data: bytes) -> None:
    assert "not a picture" in refused(data)


def test_a_truncated_jpeg() -> None:
    data = to_bytes(notice(HOAXES["wanted"], style="screenshot"), "JPEG")
    assert "corrupt or truncated" in refused(data[: len(data) // 2])


def test_a_png_with_its_pixel_data_mangled() -> None:
    data = bytearray(to_bytes(two_colours((200, 100)), "PNG"))
    start = data.index(b"IDAT") + 8
    data[start : start + 40] = bytes(range(40))
    assert "corrupt or truncated" in refused(bytes(data))


def test_a_header_alone() -> None:
    data = to_bytes(two_colours(), "PNG")
    assert "corrupt or truncated" in refused(data[: data.index(b"IDAT") + 4])


def test_a_decompression_bomb_of_20000_by_20000_pixels_in_a_few_kilobytes() -> None:
    data = png_of_one_colour(20_000, 20_000)
    assert len(data) < 50_000  # 400 million pixels
    reason = refused(data)
    assert "decompression bomb" in reason


def test_a_picture_over_the_pixel_limit_is_refused_from_its_header() -> None:
    data = png_of_one_colour(8_000, 6_000)  # 48 million pixels, under Pillow's own limit
    reason = refused(data)
    assert "8000×6000 pixels, over the limit of 40,000,000" in reason
    assert "decompression bomb" in reason


def test_the_pixel_limit_is_the_configured_one() -> None:
    data = png_of_one_colour(3_000, 2_000)
    assert "over the limit of 5,999,999" in refused(data, ImageLimits(LIMITS.max_bytes, 5_999_999))
    assert decode(data, ImageLimits(LIMITS.max_bytes, 6_000_000)).size == (3_000, 2_000)
