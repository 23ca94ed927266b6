"""The printable sign-up poster of a centre: its name, a QR code for each platform the bot is
on (the centre's deep links), and "Scan to sign up for workshops" in the languages its
residents read.

People read the wall, not the chat: every line on it is translated through the catalogs,
and right-to-left lines (Arabic, Farsi, Pashto, Urdu, Sorani) are shaped and ordered by
libraqm (FriBiDi and HarfBuzz) inside Pillow. Without libraqm no poster with such a line is
drawn at all: unjoined Arabic letters in the wrong order are worse than no poster. A line
the font has no letters for is left out and named, never printed as empty boxes.

Three steps, each testable on its own: :func:`choose_locales` (which languages),
:func:`compose` (what is on the page), :func:`render` (where it goes, as an image), then
:func:`encode` (PDF or PNG bytes).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno
from PIL import Image, ImageDraw, ImageFont, features
from sqlmodel import Session

from flows.i18n import DEFAULT_LOCALE, N_, Catalogs
from flows.links import Links
from storage.models import Centre
from storage.queries.languages import centre_locales

SIGN_UP = N_("Scan to sign up for workshops")
FREE = N_("Free and voluntary. No names are kept.")

A4_MM = (210.0, 297.0)
DEFAULT_DPI = 200
DPI_RANGE = (100, 300)
LANGUAGES_ON_A_POSTER = 4  # the default: the centre's most read languages, topped up
DEFAULT_LANGUAGES = ("en", "ar", "fa", "sr_Latn")
MAX_LANGUAGES = 8  # more would not be readable from across a corridor
QR_ERROR = "m"  # segno raises it further when the symbol has room (boost_error)
QR_QUIET = 4  # modules of white around a code, as the standard asks

INK = "#1a1a1a"
GREY = "#555555"
BAND = "#234e52"
RULE = "#cccccc"
PLATFORM_COLOURS = {"Telegram": "#1d7fb8", "Viber": "#665cac"}

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")


class PosterError(RuntimeError):
    """Why no poster can be made: one line an operator or a staff member can act on."""


# --- fonts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fonts:
    """The regular and bold faces the poster is set in."""

    regular: Path
    bold: Path

    @classmethod
    def find(cls, override: Path | None = None) -> Fonts:
        """``override`` (the POSTER_FONT setting; its "-Bold" sibling when there is one), else
        DejaVu Sans where distributions put it, else where fontconfig says it is."""
        if override is not None:
            if not override.is_file():
                raise PosterError(f"POSTER_FONT {override} is not a font file")
            bold = override.with_name(f"{override.stem}-Bold{override.suffix}")
            return cls(override, bold if bold.is_file() else override)
        for folder in FONT_DIRS:
            regular, bold = (folder / name for name in FONT_FILES)
            if regular.is_file():
                return cls(regular, bold if bold.is_file() else regular)
        found = _fc_match("DejaVu Sans"), _fc_match("DejaVu Sans:bold")
        if found[0] is not None:
            return cls(found[0], found[1] or found[0])
        raise PosterError(
            "no font for the poster: install DejaVu Sans (Debian: fonts-dejavu-core) "
            "or set POSTER_FONT to a .ttf file"
        )

    def missing(self, text: str) -> list[str]:
        """The letters of ``text`` that either face lacks (they would print as boxes)."""
        gone = _missing_letters(str(self.regular), text) + _missing_letters(str(self.bold), text)
        return sorted(set(gone))


def _fc_match(pattern: str) -> Path | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        done = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = Path(done.stdout.strip())
    # fontconfig answers with its nearest font whatever is asked: only DejaVu will do here.
    return path if done.returncode == 0 and "DejaVuSans" in path.name else None


@functools.lru_cache(maxsize=8)
def _notdef(path: str) -> tuple[tuple[int, int], bytes]:
    """What the font draws for a letter it does not have (a private-use code point)."""
    mask = _font(path, 48, shaped=False).getmask("\ue000")
    return mask.size, bytes(mask)


def _missing_letters(path: str, text: str) -> list[str]:
    font = _font(path, 48, shaped=False)
    empty = _notdef(path)
    missing = []
    for letter in set(text):
        if unicodedata.category(letter)[0] in "CZ":  # spaces, joiners, direction marks
            continue
        mask = font.getmask(letter)
        if (mask.size, bytes(mask)) == empty:
            missing.append(letter)
    return missing


@functools.lru_cache(maxsize=256)
def _font(path: str, size: int, *, shaped: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size, layout_engine=engine)


def can_shape() -> bool:
    """Whether Pillow can shape and order right-to-left text (libraqm, FriBiDi, HarfBuzz)."""
    return all(features.check(name) for name in ("raqm", "fribidi", "harfbuzz"))


def require_shaping() -> None:
    if not can_shape():
        raise PosterError(
            "right-to-left lines need Pillow with libraqm (FriBiDi and HarfBuzz), which is "
            "not available here; no poster is drawn rather than one with broken Arabic "
            "script (Debian: apt-get install libfribidi0 libharfbuzz0b)"
        )


# --- what is on the page --------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One language's lines: the call to scan, and (if translated) the reassurance."""

    locale: str
    text: str
    note: str | None
    rtl: bool

    @property
    def language_tag(self) -> str:
        return self.locale.replace("_", "-")


@dataclass(frozen=True)
class Poster:
    title: str
    codes: tuple[tuple[str, str], ...]  # (platform, link), Telegram first
    lines: tuple[Line, ...]
    left_out: tuple[tuple[str, str], ...] = ()  # (locale, why), for the operator


def choose_locales(
    catalogs: Catalogs,
    counts: Sequence[tuple[str, int]],
    wanted: Sequence[str] = (),
) -> list[str]:
    """The languages to try, in order: ``wanted`` as given (each must have a catalog), else
    the centre's most read ones (``counts``, most first) and then :data:`DEFAULT_LANGUAGES`
    (:func:`compose` takes the first four it can print)."""
    if wanted:
        chosen: list[str] = []
        for raw in wanted:
            code = catalogs.match(raw)
            if code is None:
                offered = ", ".join(catalogs.codes)
                raise PosterError(f"no translations for {raw!r}; languages: {offered}")
            if code not in chosen:
                chosen.append(code)
        if len(chosen) > MAX_LANGUAGES:
            raise PosterError(f"at most {MAX_LANGUAGES} languages fit on a poster")
        return chosen
    chosen = [code for code, _ in counts if catalogs.supports(code)]
    chosen += [code for code in DEFAULT_LANGUAGES if catalogs.supports(code)]
    return list(dict.fromkeys(chosen))


def compose(
    *,
    title: str,
    slug: str,
    links: Links,
    catalogs: Catalogs,
    locales: Sequence[str],
    fonts: Fonts,
    limit: int | None = None,
) -> Poster:
    """What the poster says: the lines of ``locales`` (the first ``limit`` that can be
    printed). A language whose catalog does not translate the call yet, or whose letters
    the font lacks, is left out (and named in ``left_out``)."""
    codes = tuple(links.all(slug))
    if not codes:
        raise PosterError(
            "the bot's links are not known: run the bot once with TELEGRAM_BOT_TOKEN "
            "(its username is remembered), or set VIBER_CHAT_URI"
        )
    lines: list[Line] = []
    left_out: list[tuple[str, str]] = []
    for code in locales:
        if limit is not None and len(lines) >= limit:
            break
        line, why = _line(catalogs, code, fonts)
        if line is None:
            left_out.append((code, why))
        elif all(line.text != other.text for other in lines):
            lines.append(line)
    if not lines:
        raise PosterError("none of the languages can be printed: " + _reasons(left_out))
    missing = fonts.missing(title)
    if missing:
        raise PosterError(f"the font has no letters for {''.join(missing)} in the centre's name")
    if any(line.rtl for line in lines) or _has_rtl(title):
        require_shaping()
    return Poster(title, codes, tuple(lines), tuple(left_out))


def _line(catalogs: Catalogs, code: str, fonts: Fonts) -> tuple[Line | None, str]:
    t = catalogs.translator(code)
    text = t._(SIGN_UP)
    if t.code != code or (code != DEFAULT_LOCALE and text == SIGN_UP):
        return None, "not translated yet"
    note: str | None = t._(FREE)
    if code != DEFAULT_LOCALE and note == FREE:
        note = None
    missing = fonts.missing(text + (note or ""))
    if missing:
        return None, f"the font has no letters for {''.join(missing)}"
    return Line(code, text, note, t.rtl), ""


def _reasons(left_out: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{code}: {why}" for code, why in left_out) or "none chosen"


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(letter) in ("R", "AL") for letter in text)


def centre_poster(
    db: Session,
    centre: Centre,
    *,
    links: Links,
    catalogs: Catalogs,
    fonts: Fonts,
    wanted: Sequence[str] = (),
) -> Poster:
    """A centre's poster, in ``wanted`` languages, or else in the four its residents read
    most (topped up with English, Arabic, Farsi and Serbian)."""
    assert centre.id is not None
    locales = choose_locales(catalogs, centre_locales(db, centre.id), wanted)
    return compose(
        title=centre.name,
        slug=centre.slug,
        links=links,
        catalogs=catalogs,
        locales=locales,
        fonts=fonts,
        limit=None if wanted else LANGUAGES_ON_A_POSTER,
    )


# --- the page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedCode:
    """Where a QR code was drawn: its first module's corner, the module size in pixels."""

    platform: str
    link: str
    left: int
    top: int
    module: int
    modules: int  # per side, without the quiet zone


@dataclass
class Rendered:
    image: Image.Image
    dpi: int
    codes: list[PlacedCode] = field(default_factory=list)
    notes: bool = False  # whether the reassurance lines fitted
    text_size: int = 0  # pixel size of the language lines


def page_size(dpi: int) -> tuple[int, int]:
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    return width, height


def render(poster: Poster, fonts: Fonts, *, dpi: int = DEFAULT_DPI) -> Rendered:
    """Draw the page: A4 portrait at ``dpi``, white, ready to print."""
    if not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise PosterError(f"the resolution must be {DPI_RANGE[0]} to {DPI_RANGE[1]} dpi")
    width, height = page_size(dpi)
    image = Image.new("RGB", (width, height), "white")
    page = _Page(image, fonts, shaped=can_shape())
    result = Rendered(image, dpi)
    top = page.band(poster.title)
    top = page.codes(poster.codes, top + round(0.045 * width), result)
    page.languages(poster.lines, top + round(0.04 * width), result)
    return result


def encode(rendered: Rendered, kind: str) -> bytes:
    """The page as a one-page PDF or as a PNG (``kind`` "pdf" or "png")."""
    buffer = io.BytesIO()
    if kind == "pdf":
        rendered.image.save(
            buffer, "PDF", resolution=float(rendered.dpi), quality=92, title="Workshops"
        )
    elif kind == "png":
        rendered.image.save(buffer, "PNG", dpi=(rendered.dpi, rendered.dpi))
    else:
        raise PosterError(f"a poster is a .pdf or a .png, not {kind!r}")
    return buffer.getvalue()


def kind_of(path: Path) -> str:
    """ "pdf" or "png", from a file name."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("pdf", "png"):
        raise PosterError(f"{path.name}: the file name must end in .pdf or .png")
    return kind


@dataclass(frozen=True)
class _Way:
    """How a line is laid out: its direction and language (for shaping)."""

    rtl: bool = False
    language: str | None = None


LTR = _Way()


class _Page:
    """Pen and layout rules for one page; all sizes are fractions of its width."""

    def __init__(self, image: Image.Image, fonts: Fonts, *, shaped: bool) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.fonts = fonts
        self.shaped = shaped
        self.width, self.height = image.size
        self.margin = round(0.06 * self.width)

    def px(self, fraction: float) -> int:
        return max(1, round(fraction * self.width))

    def font(self, size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
        path = self.fonts.bold if bold else self.fonts.regular
        return _font(str(path), size, shaped=self.shaped)

    def _layout(self, way: _Way) -> dict[str, Any]:
        if not self.shaped:
            return {}  # only left-to-right text reaches here (see require_shaping)
        return {"direction": "rtl" if way.rtl else "ltr", "language": way.language}

    def measure(self, text: str, font: ImageFont.FreeTypeFont, way: _Way) -> int:
        left, _, right, _ = font.getbbox(text, **self._layout(way))
        return int(right - left)

    def fit(
        self, text: str, sizes: tuple[int, int], width: int, way: _Way, *, bold: bool
    ) -> int | None:
        """The largest size from ``sizes[0]`` down to ``sizes[1]`` at which ``text`` fits."""
        size, smallest = sizes
        while size >= smallest:
            if self.measure(text, self.font(size, bold=bold), way) <= width:
                return size
            size = int(size * 0.94)
        return None

    def wrap(self, text: str, font: ImageFont.FreeTypeFont, width: int, way: _Way) -> list[str]:
        """Words into lines no wider than ``width``, in reading order (the layout engine
        draws each line from the right when it is right-to-left)."""
        lines: list[str] = []
        for word in text.split():
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and self.measure(candidate, font, way) <= width:
                lines[-1] = candidate
            else:
                lines.append(word)
        return lines or [text]

    def centred(
        self, text: str, font: ImageFont.FreeTypeFont, top: int, fill: str, way: _Way,
        middle: int | None = None,
    ) -> int:  # fmt: skip
        """Draw one line centred on ``middle`` (the page's middle); returns its height."""
        layout = self._layout(way)
        left, _, right, _ = font.getbbox(text, **layout)
        centre = self.width // 2 if middle is None else middle
        self.draw.text((centre - (left + right) / 2, top), text, font=font, fill=fill, **layout)
        ascent, descent = font.getmetrics()
        return int(ascent + descent)

    # --- the parts, top to bottom ---

    def band(self, title: str) -> int:
        """The centre's name in white on a dark band across the top; returns its bottom."""
        usable = self.width - 2 * self.margin
        way = _Way(rtl=_has_rtl(title))
        size = self.fit(title, (self.px(0.075), self.px(0.04)), usable, way, bold=True)
        font = self.font(size or self.px(0.04), bold=True)
        rows = [title] if size else self.wrap(title, font, usable, way)[:2]
        ascent, descent = font.getmetrics()
        pad = self.px(0.04)
        bottom = 2 * pad + len(rows) * (ascent + descent)
        self.draw.rectangle((0, 0, self.width, bottom), fill=BAND)
        top = pad
        for row in rows:
            top += self.centred(row, font, top, "white", way)
        return bottom

    def codes(self, codes: Sequence[tuple[str, str]], top: int, result: Rendered) -> int:
        """The QR codes side by side (one alone is centred), each named below."""
        usable = self.width - 2 * self.margin
        gap = self.px(0.08)
        column = (usable - gap) // 2 if len(codes) > 1 else self.px(0.6)
        middles = [self.width // 2]
        if len(codes) > 1:
            middles = [self.margin + column // 2, self.width - self.margin - column // 2]
        bottom = top
        for (platform, link), middle in zip(codes, middles, strict=False):
            bottom = max(bottom, self._code(platform, link, (middle, column), top, result))
        return bottom

    def _code(
        self, platform: str, link: str, place: tuple[int, int], top: int, result: Rendered
    ) -> int:
        """One code with its quiet zone, framed in the platform's colour, its name and link
        below (typed by someone whose camera cannot read codes); returns the bottom."""
        middle, column = place
        matrix = segno.make(link, error=QR_ERROR, micro=False).matrix
        modules = len(matrix)
        module = column // (modules + 2 * QR_QUIET)
        side = module * (modules + 2 * QR_QUIET)
        left = middle - side // 2
        colour = PLATFORM_COLOURS.get(platform, INK)
        frame, radius = self.px(0.004), self.px(0.02)
        out = frame + radius  # the frame's rounded corners stay clear of the quiet zone
        box = (left - out, top - out, left + side + out, top + side + out)
        self.draw.rounded_rectangle(box, radius=radius, outline=colour, width=frame)
        first_x, first_y = left + QR_QUIET * module, top + QR_QUIET * module
        for row, values in enumerate(matrix):
            for col, dark in enumerate(values):
                if dark:
                    x, y = first_x + col * module, first_y + row * module
                    self.draw.rectangle((x, y, x + module - 1, y + module - 1), fill="black")
        result.codes.append(PlacedCode(platform, link, first_x, first_y, module, modules))
        y = top + side + out + self.px(0.02)
        name = self.font(self.px(0.045), bold=True)
        y += self.centred(platform, name, y, colour, LTR, middle)
        shown = link.removeprefix("https://")
        size = self.fit(shown, (self.px(0.02), self.px(0.014)), column, LTR, bold=False)
        if size is not None:
            y += self.centred(shown, self.font(size), y, GREY, LTR, middle)
        return y

    def languages(self, lines: Sequence[Line], top: int, result: Rendered) -> None:
        """Each language's lines, all at one size, as large as they fit; the reassurance
        lines are left out first when space is short."""
        room = self.height - self.margin - top
        for notes, smallest in ((True, 0.032), (False, 0.02)):
            size = self._largest(lines)
            while size >= self.px(smallest):
                blocks = [self._block(line, size, notes) for line in lines]
                gap = size // 2
                needed = sum(block.height for block in blocks) + gap * (len(blocks) - 1)
                if needed <= room:
                    self._draw_blocks(blocks, top, room - needed, gap)
                    result.notes, result.text_size = notes, size
                    return
                size = int(size * 0.94)
        raise PosterError("the lines do not fit on one page: choose fewer languages")

    def _largest(self, lines: Sequence[Line]) -> int:
        """The size at which every call fits on one row (a few large lines on a page are
        read from further away); a call too long even at the smallest size is wrapped."""
        usable = self.width - 2 * self.margin
        sizes = (self.px(0.065), self.px(0.032))
        fits = [
            self.fit(line.text, sizes, usable, _Way(line.rtl, line.language_tag), bold=True)
            for line in lines
        ]
        return min(size or sizes[1] for size in fits)

    def _block(self, line: Line, size: int, notes: bool) -> _Block:
        usable = self.width - 2 * self.margin
        way = _Way(line.rtl, line.language_tag)
        bold = self.font(size, bold=True)
        rows = [(text, bold, INK) for text in self.wrap(line.text, bold, usable, way)]
        if notes and line.note:
            small = self.font(round(size * 0.6))
            rows += [(text, small, GREY) for text in self.wrap(line.note, small, usable, way)]
        height = sum(sum(font.getmetrics()) for _, font, _ in rows)
        return _Block(way, rows, height)

    def _draw_blocks(self, blocks: Sequence[_Block], top: int, spare: int, gap: int) -> None:
        """The blocks one under another, the spare room shared out between them (up to a
        limit: the rest goes above and below), a short rule between two."""
        extra = min(spare // (len(blocks) + 1), gap * 2)
        y = top + extra + (spare - extra * (len(blocks) + 1)) // 2  # centred in the room
        half = self.px(0.08)
        for index, block in enumerate(blocks):
            if index:
                rule = y - (gap + extra) // 2
                middle = self.width // 2
                self.draw.line(
                    (middle - half, rule, middle + half, rule), fill=RULE, width=self.px(0.002)
                )
            for text, font, fill in block.rows:
                y += self.centred(text, font, y, fill, block.way)
            y += gap + extra


@dataclass(frozen=True)
class _Block:
    way: _Way
    rows: list[tuple[str, ImageFont.FreeTypeFont, str]]
    height: int
