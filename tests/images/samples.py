"""Deterministic test pictures: notices with Vietnamese text as residents forward them, the
ways a re-share changes a picture, and unrelated pictures (used by tests/images and
bench/bench_images.py). Every function is seeded: the same call gives the same pixels.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = "/usr/share/fonts/truetype/dejavu/"

# Hoaxes (and one genuine notice) as they circulate in pictures; written for these tests.
HOAXES: dict[str, list[str]] = {
    "lockdown": [
        "BỘ Y TẾ - CÔNG VĂN KHẨN",
        "Số 1234/BYT-KCB ngày 15 tháng 3 năm 2024",
        "Từ 0 giờ ngày 16/3 phong tỏa toàn bộ huyện Cư M'gar do dịch bệnh mới bùng phát.",
        "Người dân không được ra khỏi nhà, các chợ và trường học đóng cửa.",
        "Đề nghị mọi người chia sẻ gấp cho người thân được biết.",
    ],
    "wanted": [
        "CÔNG AN TỈNH ĐẮK LẮK - THÔNG BÁO TRUY NÃ",
        "Đối tượng Nguyễn Văn Hùng, sinh năm 1990, trú tại thôn 3.",
        "Đối tượng đang mang theo súng và dao, rất nguy hiểm.",
        "Ai phát hiện báo ngay cho số 0912 345 678 để nhận thưởng 50 triệu đồng.",
    ],
    "power_cut": [
        "ĐIỆN LỰC ĐẮK LẮK - THÔNG BÁO NGỪNG CẤP ĐIỆN",
        "Khách hàng chưa thanh toán tiền điện tháng 11 sẽ bị cắt điện trong hôm nay.",
        "Để tránh bị cắt, quý khách chuyển khoản ngay vào tài khoản 1903 5567 8899",
        "hoặc gọi tổng đài 0869 112 233 để được hướng dẫn.",
    ],
}
GENUINE: dict[str, list[str]] = {
    "meeting": [
        "UBND XÃ CƯ M'GAR - GIẤY MỜI HỌP",
        "Kính mời đại diện các hộ gia đình thôn 5 đến dự họp",
        "vào lúc 8 giờ sáng thứ Bảy ngày 20/4 tại nhà văn hóa thôn.",
        "Nội dung: bàn kế hoạch làm đường bê tông và an ninh trật tự.",
        "Đề nghị các hộ tham dự đầy đủ, đúng giờ.",
    ],
}
NOTICES = {**HOAXES, **GENUINE}

# Words the unrelated notices and chats are made of.
_PHRASES = [
    "thông báo lịch tiêm chủng cho trẻ em dưới năm tuổi",
    "tổ dân phố tổ chức dọn vệ sinh đường làng vào chủ nhật",
    "hội nông dân hướng dẫn phòng trừ sâu bệnh hại cà phê",
    "trường tiểu học thông báo lịch họp phụ huynh đầu năm",
    "đề nghị các hộ nộp quỹ khuyến học trước ngày mười lăm",
    "đoàn thanh niên phát động phong trào hiến máu tình nguyện",
    "nhắc nhở bà con không đốt rác gần khu dân cư",
    "danh sách các hộ được nhận hỗ trợ giống cây trồng",
    "lịch trực của lực lượng dân quân trong tháng này",
    "bà con lưu ý kiểm tra đường dây điện trước mùa mưa",
    "chợ phiên sáng mai có bán cây giống và phân bón",
    "mất ví màu nâu ở gần cổng chợ ai nhặt được xin liên hệ",
    "tuyển lao động thời vụ hái cà phê lương theo ngày",
    "giải bóng đá thanh niên các thôn khai mạc chiều thứ bảy",
    "xe rác sẽ thu gom vào sáng thứ hai và thứ năm hằng tuần",
    "thông báo cấp đổi căn cước tại nhà văn hóa xã",
]


def font(size: int, *, serif: bool = False, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = ("DejaVuSerif" if serif else "DejaVuSans") + ("-Bold" if bold else "")
    return ImageFont.truetype(f"{FONTS}{name}.ttf", size)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    out: list[str] = []
    for word in text.split():
        if out and face.getlength(f"{out[-1]} {word}") <= width:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def _page(
    lines: list[str], width: int, size: int, *, serif: bool, paper: tuple[int, int, int]
) -> Image.Image:
    """Text on a plain page: the first line bold and centred, the others wrapped."""
    margin = width // 14
    title = _wrap(lines[0], font(size, serif=serif, bold=True), width - 2 * margin)
    body = [
        r for line in lines[1:] for r in _wrap(line, font(size, serif=serif), width - 2 * margin)
    ]
    step = int(size * 1.6)
    rule = margin + step * len(title) + step // 4  # a rule under the title, as letters have
    top = rule + step // 2
    page = Image.new("RGB", (width, top + step * len(body) + margin), paper)
    draw = ImageDraw.Draw(page)
    for n, row in enumerate(title):
        face = font(size, serif=serif, bold=True)
        x = (width - face.getlength(row)) / 2
        draw.text((x, margin + n * step), row, font=face, fill=(20, 20, 20))
    draw.line((width / 3, rule, 2 * width / 3, rule), fill=(20, 20, 20), width=2)
    for n, row in enumerate(body):
        draw.text((margin, top + n * step), row, font=font(size, serif=serif), fill=(20, 20, 20))
    return page


def _app_frame(body: Image.Image, rng: random.Random) -> Image.Image:
    """A phone app around `body`: status bar, coloured header with icons, input bar."""
    w = body.width
    colour = rng.choice([(0, 104, 255), (24, 119, 242), (0, 136, 204), (46, 125, 50)])
    shot = Image.new("RGB", (w, body.height + 36 + 88 + 70), (255, 255, 255))
    draw = ImageDraw.Draw(shot)
    draw.rectangle((0, 0, w, 36), fill=(30, 30, 30))
    draw.rectangle((w - 60, 10, w - 20, 26), outline=(230, 230, 230), width=2)  # battery
    draw.rectangle((0, 36, w, 124), fill=colour)
    draw.polygon([(20, 80), (40, 62), (40, 98)], fill=(255, 255, 255))  # back arrow
    draw.ellipse((60, 52, 116, 108), fill=(255, 220, 180))  # avatar
    draw.rounded_rectangle((130, 62, 130 + rng.randint(160, 300), 82), 8, fill=(255, 255, 255))
    draw.rounded_rectangle((130, 90, 130 + rng.randint(80, 160), 102), 6, fill=(200, 225, 255))
    shot.paste(body, (0, 124))
    y = 124 + body.height
    draw.rectangle((0, y, w, y + 70), fill=(242, 242, 242))
    draw.rounded_rectangle((20, y + 14, w - 90, y + 56), 20, fill=(255, 255, 255))
    draw.ellipse((w - 74, y + 10, w - 24, y + 60), fill=colour)
    return shot


def _noise(size: tuple[int, int], sigma: float, rng: random.Random) -> np.ndarray:
    gen = np.random.default_rng(rng.randrange(2**32))
    return gen.standard_normal((size[1], size[0], 1), dtype=np.float32) * sigma


def _perspective(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients of Image.transform(PERSPECTIVE) mapping output `dst` to input `src`."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    rhs = [c for p in src for c in p]
    return [float(c) for c in np.linalg.solve(np.array(rows, float), np.array(rhs, float))]


def _photo(page: Image.Image, rng: random.Random, angle: float | None) -> Image.Image:
    """The page printed, on a table, photographed a little askew."""
    pad = page.width // 5
    w, h = page.width + 2 * pad, page.height + 2 * pad
    base, tw, th = rng.randint(90, 150), w // 4, h // 4  # the table's grain, made small
    ramp = np.linspace(0, 60, tw)[None, :, None] + np.linspace(0, 30, th)[:, None, None]
    table = np.clip(base + ramp + _noise((tw, th), 10, rng) + [[[10, 0, -12]]], 0, 255)
    ground = Image.fromarray(table.astype(np.uint8), "RGB").resize(
        (w, h), Image.Resampling.BILINEAR
    )
    turn = rng.choice([-1, 1]) * rng.uniform(2.0, 4.0)
    angle = math.radians(turn if angle is None else angle)
    ground.paste(page, (pad, pad))
    d = w * 0.03  # the camera turned a little and to one side: one edge nearer than the other
    src = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    keystone = [(d, d * 0.8), (-d * 0.2, 0.0), (0.0, 0.0), (d * 0.4, -d)]
    dst = [
        (
            w / 2 + (x - w / 2) * math.cos(angle) - (y - h / 2) * math.sin(angle) + kx,
            h / 2 + (x - w / 2) * math.sin(angle) + (y - h / 2) * math.cos(angle) + ky,
        )
        for (x, y), (kx, ky) in zip(src, keystone, strict=True)
    ]
    shot = ground.transform(
        (w, h), Image.Transform.PERSPECTIVE, _perspective(src, dst), Image.Resampling.BILINEAR
    )
    mx, my = round(d + h * abs(math.sin(angle))), round(d + w * abs(math.sin(angle)))
    shot = shot.crop((mx, my, w - mx, h - my)).filter(ImageFilter.GaussianBlur(0.7))
    noisy = np.asarray(shot, np.float32) + _noise(shot.size, 5, rng)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def notice(
    lines: list[str], *, style: str = "screenshot", seed: int = 0, angle: float | None = None
) -> Image.Image:
    """A notice with `lines` as residents forward it: "screenshot" (an app's page), "photo"
    (a printed page photographed askew: turned by `angle` degrees, else 2-4° either way) or
    "lowres" (a small, recompressed screenshot)."""
    rng = random.Random(f"{style}:{seed}")
    if style == "photo":
        return _photo(_page(lines, 1000, 30, serif=True, paper=(250, 248, 240)), rng, angle)
    shot = _app_frame(_page(lines, 720, 26, serif=False, paper=(255, 255, 255)), rng)
    if style == "screenshot":
        return shot
    if style == "lowres":
        width = rng.randint(420, 480)
        small = shot.resize((width, round(shot.height * width / shot.width)), Image.Resampling.BOX)
        return recompressed(small, 55)
    raise ValueError(f"unknown style {style!r}")


# ---- what a re-share does to a picture ----------------------------------------------------


def to_bytes(image: Image.Image, fmt: str = "JPEG", quality: int = 85) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        image.save(out, fmt)
    return out.getvalue()


def recompressed(image: Image.Image, quality: int = 50) -> Image.Image:
    return Image.open(io.BytesIO(to_bytes(image, "JPEG", quality))).convert("RGB")


def resized(image: Image.Image, scale: float = 0.5) -> Image.Image:
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def cropped(image: Image.Image, fraction: float = 0.05, *, seed: int = 0) -> Image.Image:
    """Up to `fraction` of each side cut off (each side its own share of it)."""
    rng = random.Random(seed)
    w, h = image.size
    cut = [fraction * rng.uniform(0.5, 1.0) for _ in range(4)]
    return image.crop(
        (round(cut[0] * w), round(cut[1] * h), round(w - cut[2] * w), round(h - cut[3] * h))
    )


def bordered(
    image: Image.Image, width: int = 40, colour: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    framed = Image.new("RGB", (image.width + 2 * width, image.height + 2 * width), colour)
    framed.paste(image.convert("RGB"), (width, width))
    return framed


def watermarked(image: Image.Image, kind: str = "text", *, seed: int = 0) -> Image.Image:
    """A page's name in a corner, semi-transparent ("text"), or a small logo ("logo")."""
    rng = random.Random(seed)
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = base.size
    if kind == "text":
        face = font(max(12, w // 24), bold=True)
        label = ["Tin Nóng 24h", "Hóng Biến Đắk Lắk", "Góc Chia Sẻ"][seed % 3]
        ink = [(255, 0, 0, 110), (60, 60, 60, 110), (255, 255, 255, 150)][seed % 3]
        x = w - face.getlength(label) - w // 30
        draw.text((x, rng.choice([w // 30, h - w // 12])), label, font=face, fill=ink)
    elif kind == "logo":
        side = max(16, w // 9)
        x, y = rng.choice([(w // 40, h // 40), (w - side - w // 40, h - side - h // 40)])
        draw.ellipse((x, y, x + side, y + side), fill=(230, 30, 30, 220))
        draw.text((x + side // 4, y + side // 4), "TV", font=font(side // 2, bold=True))
    else:
        raise ValueError(f"unknown watermark {kind!r}")
    return Image.alpha_composite(base, layer).convert("RGB")


# Each kind of re-share, in the variants the tests and the bench check.
VARIANTS: dict[str, list[Callable[[Image.Image], Image.Image]]] = {
    "resized": [partial(resized, scale=f) for f in (0.5, 0.75, 1.6)],
    "recompressed": [partial(recompressed, quality=q) for q in (30, 50, 70)],
    "cropped": [partial(cropped, fraction=f, seed=s) for s, f in enumerate((0.03, 0.05, 0.08))],
    "bordered": [
        partial(bordered, width=20, colour=(255, 255, 255)),
        partial(bordered, width=40, colour=(0, 0, 0)),
        partial(bordered, width=60, colour=(255, 200, 0)),
    ],
    "watermarked": [
        *(partial(watermarked, kind="text", seed=s) for s in range(3)),
        partial(watermarked, kind="logo", seed=1),
    ],
    "combined": [  # what a few forwards through chat apps do together
        lambda i: recompressed(bordered(resized(i, 0.6), 30, (0, 0, 0)), 40),
        lambda i: recompressed(watermarked(cropped(i, 0.04, seed=7), "logo"), 60),
    ],
}


def variants(image: Image.Image) -> list[tuple[str, Image.Image]]:
    """(kind, copy) for every re-share in VARIANTS."""
    return [(kind, make(image)) for kind, makes in VARIANTS.items() for make in makes]


# ---- pictures that are none of the above -----------------------------------------------------

_TITLES = [
    "UBND XÃ CƯ M'GAR - THÔNG BÁO",
    "CÔNG AN XÃ EA TUL - THÔNG BÁO",
    "BAN QUẢN LÝ THÔN 2 - THÔNG BÁO",
    "TRẠM Y TẾ XÃ QUẢNG PHÚ - THÔNG BÁO",
    "HỘI PHỤ NỮ XÃ - THƯ MỜI",
]

_TAILS = ["", " tại thôn {0}", ", hạn chót ngày {0}/{1}", " từ {1} giờ sáng", " ở tổ {0}"]


def other_lines(rng: random.Random) -> list[str]:
    """An ordinary notice: a title and two to six sentences."""
    body = []
    for phrase in rng.sample(_PHRASES, rng.randint(2, 6)):
        tail = rng.choice(_TAILS).format(rng.randint(1, 28), rng.randint(1, 12))
        body.append(f"{phrase[0].upper()}{phrase[1:]}{tail}.")
    return [rng.choice(_TITLES), *body]


def chat(rng: random.Random) -> Image.Image:
    """A chat screenshot: bubbles left and right."""
    face = font(24)
    bubbles: list[tuple[list[str], bool]] = []
    for _ in range(rng.randint(3, 7)):
        words = rng.choice(_PHRASES).split()[: rng.randint(2, 9)]
        bubbles.append((_wrap(" ".join(words), face, 420), rng.random() < 0.5))
    height = sum(36 * len(rows) + 40 for rows, _ in bubbles) + 40
    body = Image.new("RGB", (720, height), rng.choice([(230, 236, 240), (255, 255, 255)]))
    draw = ImageDraw.Draw(body)
    y = 20
    for rows, mine in bubbles:
        wide = max(face.getlength(r) for r in rows) + 32
        x = 720 - 20 - wide if mine else 20
        fill = (0, 132, 255) if mine else (240, 240, 240)
        draw.rounded_rectangle((x, y, x + wide, y + 36 * len(rows) + 20), 18, fill=fill)
        for n, row in enumerate(rows):
            ink = (255, 255, 255) if mine else (20, 20, 20)
            draw.text((x + 16, y + 10 + 36 * n), row, font=face, fill=ink)
        y += 36 * len(rows) + 40
    return _app_frame(body, rng)


def scene(rng: random.Random) -> Image.Image:
    """A photo-like picture: a gradient sky and ground with shapes on them, blurred, noisy."""
    w, h = rng.choice([(800, 600), (600, 800), (1024, 768), (720, 720)])
    top = np.array([rng.randint(0, 255) for _ in range(3)], float)
    bottom = np.array([rng.randint(0, 255) for _ in range(3)], float)
    t = np.linspace(0, 1, h)[:, None, None]
    pixels = top * (1 - t) + bottom * t + np.zeros((h, w, 3))
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(4, 14)):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randint(w // 20, w // 3)
        fill = tuple(rng.randint(0, 255) for _ in range(3))
        shape = rng.choice(["ellipse", "rectangle", "polygon"])
        if shape == "polygon":
            draw.polygon([(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(5)], fill)
        else:
            getattr(draw, shape)((x - r, y - r // 2, x + r, y + r), fill=fill)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3)))
    noisy = np.asarray(image, float) + _noise(image.size, rng.uniform(2, 10), rng)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


# What unrelated(n) gives, in turn.
UNRELATED_KINDS: tuple[str, ...] = ("screenshot", "document", "photo", "chat")
UNRELATED_KINDS += ("screenshot", "lowres", "scene", "document")


def unrelated(n: int, seed: int = 0) -> list[Image.Image]:
    """`n` pictures unlike any of NOTICES: mostly other notices (alike as text documents are:
    a white page, black lines), some chat screenshots and photo-like scenes."""
    rng = random.Random(f"unrelated:{seed}")
    out: list[Image.Image] = []
    for i in range(n):
        kind = UNRELATED_KINDS[i % len(UNRELATED_KINDS)]
        if kind == "chat":
            out.append(chat(rng))
        elif kind == "scene":
            out.append(scene(rng))
        elif kind == "document":  # the bare page, as a scan or a PDF's screenshot
            out.append(_page(other_lines(rng), 900, 28, serif=rng.random() < 0.5, paper=(255,) * 3))
        else:
            out.append(notice(other_lines(rng), style=kind, seed=rng.randrange(10**6)))
    return out


def char_accuracy(expected: str, read: str) -> float:
    """1 − (Levenshtein distance / length of `expected`), whitespace runs as one space: the
    share of characters OCR got right (0 when it got more wrong than there is)."""
    a, b = " ".join(expected.split()), " ".join(read.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / max(1, len(a)))
