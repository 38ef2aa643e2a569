"""The statuses' colours (app/ui/static/palette.js) stay apart for people with colour vision
deficiencies, and the letter or word written on each is legible.

Each colour is simulated as a protanope, a deuteranope and a tritanope sees it (Machado,
Oliveira and Fernandes 2009, severity 1: a matrix on linear sRGB), and every pair of statuses
must differ by a CIEDE2000 ΔE of at least 20 under each (and in normal vision); ΔE of about 2
is a just-noticeable difference, 20 reads as a different colour at a glance. Each colour's ink
(the colour of its letter on the map and of the word in its badge) must have the WCAG 2
contrast ratio of 4.5:1 for normal text. The same holds for the sides' colours on the control
layer (SIDES), each pair of sides and each side's ink."""

import itertools
import math
import re

import pytest

from tests.ui.dashboard import ROOT

PALETTE = ROOT / "app" / "ui" / "static" / "palette.js"
MIN_DELTA_E = 20.0
MIN_CONTRAST = 4.5
Matrix = tuple[tuple[float, float, float], ...]
IDENTITY: Matrix = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
# Machado et al. 2009, Table "severity 1.0" (dichromacy), applied to linear RGB.
MACHADO: dict[str, Matrix] = {
    "normal vision": IDENTITY,
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}
RGB = tuple[float, float, float]


def palette() -> dict[str, tuple[str, str]]:
    """status -> (colour, ink), as the page has them."""
    found = re.findall(
        r'^\s*(\w+): \{ colour: "(#[0-9A-Fa-f]{6})", ink: "(#[0-9A-Fa-f]{6})", letter: "\w" \},$',
        PALETTE.read_text(),
        re.MULTILINE,
    )
    return {status: (colour, ink) for status, colour, ink in found}


def side_colours() -> list[tuple[str, str]]:
    """The control layer's (colour, ink) per side, in order."""
    return re.findall(
        r'^\s*\{ colour: "(#[0-9A-Fa-f]{6})", ink: "(#[0-9A-Fa-f]{6})" \},$',
        PALETTE.read_text(),
        re.MULTILINE,
    )


def linear(hex_colour: str) -> RGB:
    """sRGB hex -> linear RGB in 0..1."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return r, g, b


def simulate(rgb: RGB, matrix: Matrix) -> RGB:
    r, g, b = (min(1.0, max(0.0, sum(row[k] * rgb[k] for k in range(3)))) for row in matrix)
    return r, g, b


def lab(rgb: RGB) -> RGB:
    """Linear sRGB -> CIELAB (D65)."""
    r, g, b = rgb
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(first: RGB, second: RGB) -> float:
    """ΔE00 between two CIELAB colours (Sharma, Wu and Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = first, second
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180:
        dh = h2p - h1p
    else:
        dh = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dh_big = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    rotation = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rt = -math.sin(math.radians(2 * rotation)) * rc
    return math.sqrt(
        (dl / sl) ** 2 + (dc / sc) ** 2 + (dh_big / sh) ** 2 + rt * (dc / sc) * (dh_big / sh)
    )


def contrast(first: str, second: str) -> float:
    """The WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(hex_colour: str) -> float:
        r, g, b = linear(hex_colour)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_colour_science_matches_published_values():
    # Sharma, Wu and Dalal's test data (pairs 1 and 17) and WCAG's extremes.
    assert round(ciede2000((50, 2.6772, -79.7751), (50, 0, -82.7485)), 4) == 2.0425
    assert round(ciede2000((50, 2.5, 0), (73, 25, -18)), 4) == 27.1492
    assert round(contrast("#000000", "#FFFFFF"), 2) == 21.0
    assert round(contrast("#777777", "#FFFFFF"), 2) == 4.48
    # A dichromat cannot tell red from green: simulated, they nearly meet.
    red, green = linear("#CC0000"), linear("#669900")
    deutan = MACHADO["deuteranopia"]
    assert ciede2000(lab(simulate(red, deutan)), lab(simulate(green, deutan))) < 15


def test_the_palette_has_every_status():
    assert set(palette()) == {"claimed", "verified", "disputed", "refuted"}


@pytest.mark.parametrize("vision", list(MACHADO))
def test_every_pair_of_statuses_stays_distinguishable(vision: str):
    seen = {
        status: lab(simulate(linear(colour), MACHADO[vision]))
        for status, (colour, _) in palette().items()
    }
    close = {
        f"{a}/{b}": round(ciede2000(seen[a], seen[b]), 1)
        for a, b in itertools.combinations(seen, 2)
        if ciede2000(seen[a], seen[b]) < MIN_DELTA_E
    }
    assert not close, f"under {vision}, ΔE00 below {MIN_DELTA_E}: {close}"


def test_each_status_colour_is_legible_under_its_ink():
    weak = {
        status: round(contrast(colour, ink), 2)
        for status, (colour, ink) in palette().items()
        if contrast(colour, ink) < MIN_CONTRAST
    }
    assert not weak, f"contrast below {MIN_CONTRAST}:1: {weak}"


def test_the_palette_has_three_side_colours():
    assert len(side_colours()) == 3


@pytest.mark.parametrize("vision", list(MACHADO))
def test_every_pair_of_sides_stays_distinguishable(vision: str):
    seen = [lab(simulate(linear(colour), MACHADO[vision])) for colour, _ in side_colours()]
    close = {
        f"{a}/{b}": round(ciede2000(seen[a], seen[b]), 1)
        for a, b in itertools.combinations(range(len(seen)), 2)
        if ciede2000(seen[a], seen[b]) < MIN_DELTA_E
    }
    assert not close, f"under {vision}, ΔE00 below {MIN_DELTA_E}: {close}"


def test_each_side_colour_is_legible_under_its_ink():
    weak = [
        (colour, round(contrast(colour, ink), 2))
        for colour, ink in side_colours()
        if contrast(colour, ink) < MIN_CONTRAST
    ]
    assert not weak, f"contrast below {MIN_CONTRAST}:1: {weak}"
