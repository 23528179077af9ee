"""Pictures in messages: OCR speed and accuracy, fingerprints of re-shared copies, false
matches, and what the classifier makes of the text read.

    python bench/bench_images.py [--images 40] [--unrelated 200] [--distance N]

Pictures are generated (`tests/images/samples.py`, seeded): notices as screenshots, photos of
a printed page at an angle and low-resolution copies. Every picture goes the way the pipeline
takes it (`PhotoReader._examine`): bytes → decode within the limits → fingerprint → OCR.
Copies are each source made over by one kind of re-share (resized, recompressed, cropped,
bordered, watermarked, several at once); unrelated pictures are mostly other notices (alike
as typed pages are), chat screenshots and photo-like scenes. `--distance` defaults to
`ImageSettings().match_distance`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botkit.config import ImageSettings  # noqa: E402
from botkit.images.decode import ImageLimits, decode  # noqa: E402
from botkit.images.fingerprint import BITS, distance, fingerprint  # noqa: E402
from botkit.images.ocr import TesseractReader, unavailable  # noqa: E402
from classifiers.registry import ModelRegistry  # noqa: E402
from tests.images import samples  # noqa: E402

STYLES = ("screenshot", "photo", "lowres")
SWEEP = (32, 40, 48, 56, 64, 72)


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def header(args: argparse.Namespace) -> None:
    tess = shutil.which("tesseract")
    version = (
        subprocess.run([tess, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        if tess
        else "absent"
    )
    print(f"$ python bench/bench_images.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {version}, OMP_THREAD_LIMIT="
        f"{os.environ.get('OMP_THREAD_LIMIT')}"
    )
    print(f"match distance: {args.distance} of {BITS} bits")


def encoded(image: Image.Image, style: str) -> bytes:
    """The bytes a chat app would hand over: PNG screenshots, JPEG photos and thumbnails."""
    if style == "screenshot":
        return samples.to_bytes(image, "PNG")
    return samples.to_bytes(image, "JPEG", 85 if style == "photo" else 60)


def ocr_section(n: int, reader: TesseractReader) -> dict[tuple[str, str], str]:
    """Times and accuracy over `n` pictures; the text read from each seed-0 notice."""
    limits = ImageLimits(ImageSettings().max_bytes, ImageSettings().max_pixels)
    names = list(samples.NOTICES)
    stages: dict[str, list[float]] = defaultdict(list)
    accuracy: dict[str, list[float]] = defaultdict(list)
    worst: dict[str, tuple[float, str]] = {}
    read: dict[tuple[str, str], str] = {}
    for i in range(n):
        name, style = names[i % len(names)], STYLES[(i // len(names)) % len(STYLES)]
        seed = i // (len(names) * len(STYLES))
        data = encoded(samples.notice(samples.NOTICES[name], style=style, seed=seed), style)
        t0 = time.perf_counter()
        image = decode(data, limits)
        t1 = time.perf_counter()
        fingerprint(image)
        t2 = time.perf_counter()
        text = reader.read(image)
        t3 = time.perf_counter()
        for stage, took in (("decode", t1 - t0), ("fingerprint", t2 - t1), ("ocr", t3 - t2)):
            stages[stage].append(took * 1000)
        stages["whole"].append((t3 - t0) * 1000)
        acc = samples.char_accuracy("\n".join(samples.NOTICES[name]), text)
        accuracy[style].append(acc)
        if acc < worst.get(style, (2.0, ""))[0]:
            worst[style] = (acc, f"{name} seed {seed}")
        if seed == 0:
            read[(name, style)] = text
    print(f"\n## Decode + fingerprint + OCR, {n} pictures, one at a time")
    print(f"{'stage':<12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for stage, ms in stages.items():
        print(f"{stage:<12} {pct(ms, 50):8.0f} {pct(ms, 99):8.0f} {max(ms):8.0f}")
    print(f"throughput: {n / (sum(stages['whole']) / 1000):.2f} pictures/s (one core for OCR)")
    print("\n## Character accuracy (1 − Levenshtein / length of the text), per style")
    print(f"{'style':<12} {'n':>3} {'mean':>6} {'median':>6} {'min':>6}  worst")
    for style in STYLES:
        if accuracy[style]:
            a = accuracy[style]
            print(
                f"{style:<12} {len(a):3d} {statistics.fmean(a):6.3f} {statistics.median(a):6.3f} "
                f"{min(a):6.3f}  {worst[style][1]}"
            )
    print("\n## Photos by the angle the page is turned (the 4 notices, seed 0)")
    for angle in (1.0, 2.0, 3.0, 4.0):
        a = [
            samples.char_accuracy(
                "\n".join(lines),
                reader.read(samples.notice(lines, style="photo", angle=side * angle)),
            )
            for side, lines in zip((1, -1, 1, -1), samples.NOTICES.values(), strict=True)
        ]
        print(
            f"{angle:3.0f}°: mean {statistics.fmean(a):.3f}, min {min(a):.3f}"
            f"  ({', '.join(f'{x:.2f}' for x in a)})"
        )
    return read


def fingerprint_section(n_unrelated: int, match: int) -> None:
    sources = [
        (f"{name}/{style}", style, samples.notice(lines, style=style))
        for name, lines in samples.NOTICES.items()
        for style in STYLES
    ]
    sources += [
        (f"scene {i}", "scene", samples.scene(random.Random(f"source:{i}"))) for i in range(3)
    ]
    prints = {name: fingerprint(image) for name, _, image in sources}
    groups = (*STYLES, "scene")
    copies: dict[tuple[str, str], list[int]] = defaultdict(list)  # (kind, group) → distances
    limits: dict[str, list[int]] = defaultdict(list)
    started = time.perf_counter()
    count = 0
    for name, group, image in sources:
        for kind, copy in samples.variants(image):
            copies[(kind, group)].append(distance(prints[name], fingerprint(copy)))
            count += 1
        for cut in (0.03, 0.05, 0.08, 0.10):
            for seed in range(3):
                copy = samples.cropped(image, cut, seed=100 + seed)
                limits[f"cropped ≤{cut:.0%} a side"].append(
                    distance(prints[name], fingerprint(copy))
                )
        for width in (320, 240, 160):
            copy = samples.resized(image, width / image.width)
            limits[f"resized to {width} px wide"].append(distance(prints[name], fingerprint(copy)))
    per_copy = (time.perf_counter() - started) * 1000 / count
    kinds = list(samples.VARIANTS)

    print(f"\n## Re-shared copies of {len(sources)} sources: recall at ≤ {match} (max distance)")
    print(f"{'kind':<14}" + "".join(f"{g:>18}" for g in groups) + f"{'all':>14}")
    for kind in kinds:
        row = ""
        for g in groups:
            found = copies[(kind, g)]
            row += f"{sum(x <= match for x in found) / len(found):>11.0%} ({max(found):3d})"
        every = [x for g in groups for x in copies[(kind, g)]]
        row += f"{sum(x <= match for x in every) / len(every):>8.0%} ({max(every):3d})"
        print(f"{kind:<14}{row}")
    print(f"fingerprint: {per_copy:.1f} ms a picture (mean over the copies)")
    print("\n## Beyond the re-shares above (all sources)")
    print(f"{'copy':<26} {'recall':>7} {'max':>5} {'median':>7}")
    for label, found in limits.items():
        ok = sum(x <= match for x in found) / len(found)
        print(f"{label:<26} {ok:7.0%} {max(found):5d} {statistics.median(found):7.0f}")

    started = time.perf_counter()
    unrelated = samples.unrelated(n_unrelated, seed=1)
    made = time.perf_counter() - started
    others = [fingerprint(image) for image in unrelated]
    nearest = [min(distance(p, o) for p in prints.values()) for o in others]
    false_pairs = sum(distance(p, o) <= match for p in prints.values() for o in others)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(nearest):
        by_kind[samples.UNRELATED_KINDS[i % len(samples.UNRELATED_KINDS)]].append(d)
    bits = np.array([[int(o, 16) >> k & 1 for k in range(BITS)] for o in others], dtype=np.uint8)
    among = (bits[:, None, :] != bits[None, :, :]).sum(axis=-1)[np.triu_indices(len(others), 1)]
    print(
        f"\n## Unrelated pictures: {n_unrelated} (made in {made:.1f} s) against the {len(sources)}"
    )
    print(
        f"false matches: {false_pairs} of {len(nearest) * len(prints)} pairs, "
        f"{sum(d <= match for d in nearest)} of {len(nearest)} pictures matching any source"
    )
    print(
        f"distance to the nearest source: min {min(nearest)}, 1st percentile {pct(nearest, 1):.0f},"
        f" 5th {pct(nearest, 5):.0f}, median {pct(nearest, 50):.0f}"
    )
    print("  nearest by kind: " + ", ".join(f"{k} {min(d)}" for k, d in sorted(by_kind.items())))
    print(
        f"unrelated among themselves ({among.size} pairs, many alike: same titles and phrases): "
        f"min {among.min()}, 0.1st percentile {pct(among, 0.1):.0f}, 1st {pct(among, 1):.0f}; "
        f"{int((among <= match).sum())} pairs ({(among <= match).mean():.3%}) within {match}"
    )
    copies_of = {g: [x for k in kinds for x in copies[(k, g)]] for g in groups}
    print("\n## Threshold sweep: recall of the copies above and false matches")
    print(
        f"{'distance':>8} {'text pictures':>14} {'scenes':>7} {'vs sources':>11}"
        f" {'among unrelated':>16}"
    )
    for t in sorted({*SWEEP, match}):
        text = [x for g in STYLES for x in copies_of[g]]
        scenes = copies_of["scene"]
        print(
            f"{t:>8} {sum(x <= t for x in text) / len(text):>14.1%} "
            f"{sum(x <= t for x in scenes) / len(scenes):>7.1%} "
            f"{sum(d <= t for d in nearest):>11d} {(among <= t).mean():>16.3%}"
        )


def classification_section(read: dict[tuple[str, str], str]) -> None:
    loaded, _ = ModelRegistry(ROOT / "models").load_current()
    model = loaded.model
    rows: list[tuple[str, str, str]] = []
    for name, lines in samples.NOTICES.items():
        rows.append((name, "original text", "\n".join(lines)))
        rows += [
            (name, f"read ({style})", read[(name, style)])
            for style in STYLES
            if (name, style) in read
        ]
    probs = model.predict_proba([text for _, _, text in rows])
    labels = [str(c) for c in model.classes_]
    print(f"\n## Classification of the text ({loaded.card.version})")
    print(f"{'notice':<10} {'text':<18} {'read':>5} {'top category':<18} {'p':>5}  second")
    for (name, which, text), row in zip(rows, probs, strict=True):
        order = np.argsort(row)[::-1]
        first, second = order[0], order[1]
        acc = samples.char_accuracy("\n".join(samples.NOTICES[name]), text)
        print(
            f"{name:<10} {which:<18} {acc:5.2f} {labels[first]:<18} {row[first]:5.2f}  "
            f"{labels[second]} {row[second]:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=40, help="pictures through OCR")
    parser.add_argument("--unrelated", type=int, default=200, help="unrelated pictures")
    parser.add_argument("--distance", type=int, default=ImageSettings().match_distance)
    args = parser.parse_args()
    started = time.perf_counter()
    header(args)
    why = unavailable(ImageSettings().language)
    read: dict[tuple[str, str], str] = {}
    if why is None and args.images > 0:
        read = ocr_section(args.images, TesseractReader(ImageSettings().language))
    elif why is not None:
        print(f"\nno OCR here: {why}")
    fingerprint_section(args.unrelated, args.distance)
    if read:
        classification_section(read)
    print(f"\ntook {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
