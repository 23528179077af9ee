"""Fingerprints: a re-shared copy of a hoax picture is within the configured distance of the
original; other pictures, other notices laid out alike above all, are not (no OCR here)."""

from __future__ import annotations

import random
from functools import cache

import pytest
from PIL import Image, ImageDraw

from botkit.config import ImageSettings
from botkit.images.fingerprint import BITS, distance, fingerprint, text_box, trim_border
from botkit.images.known import KnownImages, image_claim_id, is_image_claim
from tests.images import samples

MATCH = ImageSettings().match_distance
SOURCES = [("lockdown", "screenshot"), ("wanted", "photo"), ("power_cut", "lowres")]


@cache
def source(name: str, style: str) -> Image.Image:
    return samples.notice(samples.NOTICES[name], style=style)


@cache
def print_of(name: str, style: str) -> str:
    return fingerprint(source(name, style))


@cache
def unrelated_prints() -> tuple[str, ...]:
    return tuple(fingerprint(image) for image in samples.unrelated(32, seed=5))


def test_a_fingerprint_is_bits_hex_digits_and_the_distance_counts_differing_bits() -> None:
    a, b = print_of("lockdown", "screenshot"), print_of("wanted", "photo")
    assert len(a) == BITS // 4 and int(a, 16) >= 0
    assert distance(a, a) == 0
    assert distance(a, b) == distance(b, a) == bin(int(a, 16) ^ int(b, 16)).count("1") > 0
    assert fingerprint(source("lockdown", "screenshot")) == a  # deterministic


@pytest.mark.parametrize("kind", list(samples.VARIANTS))
def test_every_re_shared_copy_is_within_the_match_distance(kind: str) -> None:
    far = []
    for name, style in SOURCES:
        for make in samples.VARIANTS[kind]:
            d = distance(print_of(name, style), fingerprint(make(source(name, style))))
            if d > MATCH:
                far.append((name, style, d))
    assert not far, f"{kind} copies over {MATCH} bits from their original: {far}"


def test_copies_of_a_photo_without_text_are_within_the_match_distance() -> None:
    scene = samples.scene(random.Random("source:0"))
    original = fingerprint(scene)
    copies = {
        "resized": samples.resized(scene, 0.5),
        "recompressed": samples.recompressed(scene, 30),
        "cropped 3%": samples.cropped(scene, 0.03),
        "bordered": samples.bordered(scene, 40, (0, 0, 0)),
        "watermarked": samples.watermarked(scene, "logo"),
    }
    far = {k: d for k, c in copies.items() if (d := distance(original, fingerprint(c))) > MATCH}
    assert not far, far


def test_unrelated_pictures_match_no_source() -> None:
    near = [
        (name, style, i, d)
        for name, style in SOURCES
        for i, other in enumerate(unrelated_prints())
        if (d := distance(print_of(name, style), other)) <= MATCH
    ]
    assert not near, f"unrelated pictures within {MATCH} bits: {near}"


def test_the_hoaxes_are_not_each_other() -> None:
    """Notices of one style are alike (the same frame, a white page with black lines): only
    their text tells them apart."""
    for style in ("screenshot", "photo"):
        prints = {name: print_of(name, style) for name in samples.NOTICES}
        pairs = [(a, b) for a in prints for b in prints if a < b]
        near = [(a, b, d) for a, b in pairs if (d := distance(prints[a], prints[b])) <= MATCH]
        assert not near, f"{style}: {near}"


def test_a_border_is_trimmed_back_to_the_picture() -> None:
    picture = source("lockdown", "screenshot")
    for width, colour in ((20, (255, 255, 255)), (60, (255, 200, 0))):
        trimmed = trim_border(samples.bordered(picture, width, colour))
        assert abs(trimmed.width - picture.width) <= 4 and abs(trimmed.height - picture.height) <= 4
    assert trim_border(picture).size == picture.size  # its status bar is no frame


# ---- KnownImages ------------------------------------------------------------------------


def flipped(fingerprint_: str, *bits: int) -> str:
    value = int(fingerprint_, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:0{BITS // 4}x}"


def test_known_images_recognise_a_copy_and_say_how_alike() -> None:
    known = KnownImages(MATCH)
    for name in ("lockdown", "wanted"):
        known.add(image_claim_id(print_of(name, "screenshot")), print_of(name, "screenshot"))
    copy = samples.recompressed(samples.bordered(source("lockdown", "screenshot"), 30), 40)
    print_ = fingerprint(copy)
    match = known.match(print_)
    assert match is not None
    claim, similarity = match
    assert claim == image_claim_id(print_of("lockdown", "screenshot")) and is_image_claim(claim)
    assert similarity == 1 - distance(print_, print_of("lockdown", "screenshot")) / BITS
    assert similarity >= 1 - MATCH / BITS


def test_known_images_do_not_match_an_unrelated_picture() -> None:
    known = KnownImages(MATCH)
    assert known.match(print_of("lockdown", "screenshot")) is None  # nothing known yet
    known.add("image:a", print_of("lockdown", "screenshot"))
    assert known.match(unrelated_prints()[0]) is None
    assert known.match(print_of("meeting", "screenshot")) is None


def test_the_nearest_known_picture_wins_and_the_distance_is_inclusive() -> None:
    base = print_of("wanted", "photo")
    known = KnownImages(3)
    known.add("image:far", flipped(base, 0, 1, 2))
    known.add("image:near", flipped(base, 200))
    assert len(known) == 2
    assert known.match(base) == ("image:near", 1 - 1 / BITS)
    assert known.match(flipped(base, 0, 1, 2)) == ("image:far", 1.0)
    assert known.match(flipped(base, 100, 101, 102, 103)) is None  # 5 and 7 bits away
    assert known.match(flipped(base, 200, 10, 11)) == ("image:near", 1 - 2 / BITS)
    assert known.match(flipped(base, 200, 10, 11, 12)) == ("image:near", 1 - 3 / BITS)
    assert known.match(flipped(base, 200, 10, 11, 12, 13)) is None  # 4 bits from either


def test_a_photo_with_a_small_sign_is_hashed_whole_as_a_photo() -> None:
    """Its few letters are not the picture: hashed on them alone, every photo of that street
    corner would be the same picture."""
    photo = samples.scene(random.Random("source:1"))
    sign = ImageDraw.Draw(photo)
    sign.rectangle((20, 20, 300, 70), fill=(235, 235, 225))
    sign.text((30, 28), "Ngã tư Buôn Hồ 12/3", font=samples.font(24), fill=(10, 10, 10))
    assert text_box(photo) is None
    assert text_box(source("lockdown", "screenshot")) is not None
    original = fingerprint(photo)
    for copy in (samples.resized(photo, 0.5), samples.recompressed(photo, 30)):
        assert distance(original, fingerprint(copy)) <= MATCH
