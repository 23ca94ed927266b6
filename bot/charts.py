"""The activity chart coordinators get with /stats: how many workshop sessions each centre held,
and how many distinct people came, month by month, as a PNG to send as a photo.

Telegram shows a photo at the width of the screen (and may scale it down to 1280 pixels a
side), so the image is no wider than its content needs and its text is large for its width:
one centre is a bar chart, several are two heatmaps (sessions above, people below) with the
number in every cell, at most 1200 pixels wide.

People are counted once a month per centre, so they do not add up across months or centres:
only sessions get a total row. Every label arrives translated (``ChartText``); right-to-left
labels are shaped and ordered by matplotlib's own text layout (libraqm, HarfBuzz, from 3.11).

matplotlib is imported on the first chart (about 0.4 s) and only through ``Figure`` and the Agg
canvas, never pyplot: charts are drawn in worker threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    from bot.poster import Fonts

DPI = 100  # sizes below are pixels; a point is DPI / 72 of them
MAX_WIDTH = 1200
MIN_WIDTH = 720
MARGIN = 28
TITLE_PX = 32
HEADING_PX = 25
LABEL_PX = 22
SMALLEST_PX = 15  # month labels shrink to this before they touch
NUMBER_PX = 22
ROW_PX = 38  # a heatmap row
CELL_PX = 100  # at most, a heatmap column
BARS_PX = 420  # the height of the bars' area
PANEL_GAP = 36
LEADING = 1.3  # line height, of the font size
ASCENT = 0.93  # DejaVu Sans, of the font size: from a line's top to its baseline
NAME_SHARE = 0.3  # of the width, at most, for the centres' names
NAME_PAD = 14  # between a name and its row
INK = "#1a1a1a"
GREY = "#666666"
SESSIONS = ("Blues", "#2f6fae")  # colormap of the heatmap, colour of the bars
PEOPLE = ("Oranges", "#e0822a")
TOTAL_CELL = "#e6e6e6"


@dataclass(frozen=True)
class MonthFigures:
    centre: str  # the centre's display name (Serbian Latin or Cyrillic, Arabic, ...)
    month: date  # first day of the month
    sessions: int  # sessions held
    people: int  # distinct people who attended


@dataclass(frozen=True)
class ChartText:
    """Every label, already translated by the caller."""

    title: str  # "Workshops, Jan 2026 – Dec 2026"
    sessions: str  # "Sessions held"
    people: str  # "People who came (each counted once a month)"
    total: str  # "All centres"
    months: Sequence[str]  # one label per month, in order
    rtl: bool = False  # the labels are in a right-to-left language
    empty: str = "No sessions in this period."

    def letters(self) -> str:
        """Every label at once: what the font must be able to draw."""
        return " ".join([self.title, self.sessions, self.people, self.total, self.empty,
                         *self.months])  # fmt: skip


def activity_chart(
    figures: Sequence[MonthFigures],
    months: Sequence[date],
    text: ChartText,
    *,
    font: Path | None = None,
) -> bytes:
    """The chart as PNG bytes: bars for one centre, heatmaps for several (rows in the order
    the centres first appear in ``figures``), a short notice when nothing happened.

    ``months`` are the columns, in order; a centre without a figure for a month held no
    session in it. ``font`` is the POSTER_FONT setting (default: DejaVu Sans, which has
    Latin, Cyrillic and Arabic letters). Raises ``ValueError`` when ``text.months`` does not
    label ``months`` one to one, or a figure is for another month or given twice."""
    figure = draw(figures, months, text, font=font)
    buffer = io.BytesIO()
    # the size and background given, not taken from a matplotlibrc; no version: same bytes
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def find_fonts(font: Path | None = None) -> Fonts:
    """``font`` (and its "-Bold" sibling), else DejaVu Sans where the poster finds it, else
    the copy matplotlib ships (the chart needs no system font). A ``font`` that is not a
    file raises the poster's ``PosterError``."""
    import matplotlib

    from bot.poster import Fonts, PosterError

    try:
        return Fonts.find(font)
    except PosterError:
        if font is not None:
            raise
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return Fonts(folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf")


# --- the numbers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    centres: list[str]
    sessions: list[list[int]]  # [centre][month]
    people: list[list[int]]

    @classmethod
    def of(cls, figures: Sequence[MonthFigures], months: Sequence[date]) -> _Table:
        column = {month: index for index, month in enumerate(months)}
        if len(column) != len(months):
            raise ValueError("a month is listed twice")
        centres = list(dict.fromkeys(figure.centre for figure in figures))
        row = {centre: index for index, centre in enumerate(centres)}
        sessions = [[0] * len(months) for _ in centres]
        people = [[0] * len(months) for _ in centres]
        seen: set[tuple[str, date]] = set()
        for figure in figures:
            if figure.month not in column:
                raise ValueError(f"{figure.centre}: {figure.month} is not one of the months")
            if (figure.centre, figure.month) in seen:
                raise ValueError(f"{figure.centre}: two figures for {figure.month}")
            seen.add((figure.centre, figure.month))
            sessions[row[figure.centre]][column[figure.month]] = figure.sessions
            people[row[figure.centre]][column[figure.month]] = figure.people
        return cls(centres, sessions, people)

    @property
    def empty(self) -> bool:
        return not any(any(row) for row in self.sessions + self.people)

    @property
    def months(self) -> int:
        return len(self.sessions[0])

    def totals(self) -> list[int]:
        """Sessions of all centres, month by month (people are not added up: see above)."""
        return [sum(column) for column in zip(*self.sessions, strict=True)]


def draw(
    figures: Sequence[MonthFigures],
    months: Sequence[date],
    text: ChartText,
    *,
    font: Path | None = None,
) -> Figure:
    """The chart as a matplotlib figure, drawn on an Agg canvas (see :func:`activity_chart`).
    Right to left, the page is mirrored: headings and keys on the right, the centres' names
    on the right of their rows, and the months from right to left."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = _Table.of(figures, months)
    if len(text.months) != len(months):
        raise ValueError(f"{len(text.months)} month labels for {len(months)} months")
    pens = _Pens(find_fonts(font))
    figure = Figure(dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]  # (backend_agg)
    page = _Page(figure, renderer, pens, text)
    if table.empty:
        page.empty()
    elif len(table.centres) == 1:
        page.bars(table)
    else:
        page.heatmaps(table)
    return figure


# --- the drawing -----------------------------------------------------------------------------


class _Pens:
    """The font at the sizes the chart uses, given in pixels."""

    def __init__(self, fonts: Fonts) -> None:
        from matplotlib.font_manager import FontProperties

        self._make = FontProperties
        self.fonts = fonts

    def __call__(self, px: float, *, bold: bool = False) -> FontProperties:
        path = self.fonts.bold if bold else self.fonts.regular
        return self._make(fname=path, size=px * 72 / DPI)


class _Page:
    """Lays a chart out in pixels from the top, then sets the figure's size to fit."""

    def __init__(
        self, figure: Figure, renderer: RendererBase, pens: _Pens, text: ChartText
    ) -> None:
        self.figure = figure
        self.renderer = renderer
        self.pen = pens
        self.text = text
        self.width = MAX_WIDTH
        self.height = 0

    # --- measuring and placing (pixels, from the top-left corner) ---

    def measure(self, line: str, prop: FontProperties) -> float:
        width, _, _ = self.renderer.get_text_width_height_descent(line, prop, ismath=False)
        return float(width)

    def wrap(self, text: str, prop: FontProperties, width: float) -> list[str]:
        """Words into lines no wider than ``width`` (in reading order: each line is laid out
        on its own, right to left when it is Arabic)."""
        lines: list[str] = []
        for word in text.split():
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and self.measure(candidate, prop) <= width:
                lines[-1] = candidate
            else:
                lines.append(word)
        return lines or [text]

    def resize(self, width: float, height: float) -> None:
        self.width, self.height = round(width), round(height)
        self.figure.set_size_inches(self.width / DPI, self.height / DPI)

    def axes(self, left: float, top: float, width: float, height: float) -> Axes:
        """Axes at a place in pixels (the figure's final size must be set already)."""
        box = (
            left / self.width,
            1 - (top + height) / self.height,
            width / self.width,
            height / self.height,
        )
        return self.figure.add_axes(box)

    def put(
        self, x: float, y: float, text: str, prop: FontProperties, *, ha: str = "left",
        va: str = "top", colour: str = INK,
    ) -> None:  # fmt: skip
        """Text at a place in pixels."""
        self.figure.text(
            x / self.width, 1 - y / self.height, text, fontproperties=prop, ha=ha, va=va,
            color=colour,
        )  # fmt: skip

    def write(
        self, lines: Sequence[str], top: float, px: float, *, bold: bool = False,
        colour: str = INK,
    ) -> float:  # fmt: skip
        """Lines across the page, from the left (from the right when right-to-left);
        returns the bottom of the last."""
        prop = self.pen(px, bold=bold)
        x, align = (self.width - MARGIN, "right") if self.text.rtl else (MARGIN, "left")
        for line in lines:
            self.put(x, top, line, prop, ha=align, colour=colour)
            top += px * LEADING
        return top

    def heading(self, text: str, px: float, *, bold: bool = False) -> list[str]:
        return self.wrap(text, self.pen(px, bold=bold), self.width - 2 * MARGIN)

    def fitted_width(self, wanted: float) -> None:
        """As wide as the content wants, within limits, and never narrower than the title."""
        title = self.measure(self.text.title, self.pen(TITLE_PX, bold=True)) + 2 * MARGIN
        self.width = round(min(MAX_WIDTH, max(MIN_WIDTH, wanted, title)))

    # --- the three kinds of chart ---

    def empty(self) -> None:
        self.fitted_width(MIN_WIDTH)
        title = self.heading(self.text.title, TITLE_PX, bold=True)
        notice = self.heading(self.text.empty, HEADING_PX)
        self.resize(self.width, 2 * MARGIN + LEADING * (TITLE_PX * len(title) + 2 * HEADING_PX))
        top = self.write(title, MARGIN, TITLE_PX, bold=True)
        self.write(notice, top + LEADING * HEADING_PX, HEADING_PX, colour=GREY)

    def bars(self, table: _Table) -> None:
        """One centre: a pair of bars a month, each with its number above it."""
        slot = (MAX_WIDTH - 2 * MARGIN) / max(table.months, 12)
        self.fitted_width(2 * MARGIN + slot * table.months)
        slot = (self.width - 2 * MARGIN) / table.months
        months, month_px = self.month_labels(table.months, slot)
        title = self.heading(self.text.title, TITLE_PX, bold=True)
        name = self.heading(table.centres[0], HEADING_PX)
        legend = [
            (self.heading(label, LABEL_PX), colour)
            for label, colour in ((self.text.sessions, SESSIONS[1]), (self.text.people, PEOPLE[1]))
        ]
        head = MARGIN + LEADING * (TITLE_PX * len(title) + HEADING_PX * len(name)) + 12
        head += sum(LEADING * LABEL_PX * len(lines) for lines, _ in legend) + 12
        axis = 10 + LEADING * month_px * _lines(months)
        self.resize(self.width, head + BARS_PX + axis + MARGIN)

        top = self.write(title, MARGIN, TITLE_PX, bold=True)
        top = self.write(name, top, HEADING_PX, colour=GREY) + 12
        for lines, colour in legend:
            top = self.key(lines, top, colour)
        ax = self.axes(MARGIN, head, self.width - 2 * MARGIN, BARS_PX)
        xs = range(table.months)
        most = max(max(table.sessions[0]), max(table.people[0]))
        number = self.pen(self.number_px([table.sessions[0], table.people[0]], slot * 0.4 + 6))
        for shift, values, colour in (
            (-0.2, table.sessions[0], SESSIONS[1]),
            (0.2, table.people[0], PEOPLE[1]),
        ):
            bars = ax.bar([x + shift for x in xs], values, width=0.4, color=colour)
            ax.bar_label(bars, padding=3, fontproperties=number, color=INK)
        ax.set_xlim(*(table.months - 0.5, -0.5) if self.text.rtl else (-0.5, table.months - 0.5))
        ax.set_ylim(0, most * 1.12)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(GREY)
        self.month_row(months, month_px, MARGIN, slot, head + BARS_PX + 10)

    def key(self, lines: Sequence[str], top: float, colour: str) -> float:
        """A colour swatch and what it stands for (the swatch on the right when RTL)."""
        side = LABEL_PX * 0.8
        gap = LABEL_PX * 0.5
        x = self.width - MARGIN - side if self.text.rtl else MARGIN
        swatch = self.axes(x, top + LABEL_PX * 0.2, side, side)
        swatch.set_facecolor(colour)
        swatch.set_xticks([])
        swatch.set_yticks([])
        for spine in swatch.spines.values():
            spine.set_visible(False)
        prop = self.pen(LABEL_PX)
        x, align = (x - gap, "right") if self.text.rtl else (x + side + gap, "left")
        for line in lines:
            self.put(x, top, line, prop, ha=align)
            top += LABEL_PX * LEADING
        return top

    def month_labels(self, count: int, slot: float) -> tuple[list[str], float]:
        """The months' labels and their size in pixels: as large as they fit in ``slot``
        pixels each, a label broken into two lines at its last space if it has to be (a year
        under the month's name)."""
        labels = [label.strip() for label in self.text.months[:count]]
        px = float(LABEL_PX)
        while True:
            prop = self.pen(px)
            fitted = []
            for label in labels:
                if self.measure(label, prop) > slot - 6 and " " in label:
                    first, _, rest = label.rpartition(" ")
                    label = f"{first}\n{rest}"
                fitted.append(label)
            widest = max(self.measure(line, prop) for x in fitted for line in x.split("\n"))
            if widest <= slot - 6 or px <= SMALLEST_PX:
                return fitted, px
            px -= 1

    def month_row(
        self, labels: Sequence[str], px: float, left: float, slot: float, top: float
    ) -> None:
        """The months' labels, one per ``slot`` from ``left`` (right to left: the first month
        in the rightmost slot), on a common baseline (aligned by their tops, a label with a
        hamza above an alef would sit lower than the others)."""
        prop = self.pen(px)
        for index, label in enumerate(labels):
            place = len(labels) - 1 - index if self.text.rtl else index  # first on the right
            x = left + (place + 0.5) * slot
            for row, line in enumerate(label.split("\n")):
                baseline = top + px * (ASCENT + LEADING * row)
                self.put(x, baseline, line, prop, ha="center", va="baseline")

    def number_px(self, values: Sequence[Sequence[int]], room: float) -> float:
        """The size at which the widest of ``values`` fits ``room`` pixels (at most NUMBER_PX)."""
        widest = self.measure(str(max(max(row) for row in values)), self.pen(NUMBER_PX, bold=True))
        return max(SMALLEST_PX, min(NUMBER_PX, NUMBER_PX * (room - 8) / max(widest, 1)))

    def heatmaps(self, table: _Table) -> None:
        """Several centres: sessions above, people below, a row a centre, a column a month,
        the number in every cell; the sessions of all centres in a bold row of their own."""
        name_prop = self.pen(LABEL_PX)
        names = [*table.centres, self.text.total]
        longest = max(self.measure(name, name_prop) for name in names)
        names_width = min(longest, NAME_SHARE * MAX_WIDTH) + NAME_PAD
        cell = min(CELL_PX, (MAX_WIDTH - 2 * MARGIN - names_width) / table.months)
        self.fitted_width(2 * MARGIN + names_width + cell * table.months)
        # a few months: wider cells, and the rest of the width goes to the names
        cell = min(1.6 * CELL_PX, (self.width - 2 * MARGIN - names_width) / table.months)
        names_width = self.width - 2 * MARGIN - cell * table.months
        months, month_px = self.month_labels(table.months, cell)
        header = LEADING * month_px * _lines(months) + 10
        title = self.heading(self.text.title, TITLE_PX, bold=True)
        rows = len(table.centres)
        panels = [
            (self.heading(self.text.sessions, HEADING_PX, bold=True), table.sessions, SESSIONS[0]),
            (self.heading(self.text.people, HEADING_PX, bold=True), table.people, PEOPLE[0]),
        ]
        total_gap = 8  # between the centres' rows and the total row
        height = MARGIN + LEADING * TITLE_PX * len(title) + 8
        for lines, _, _ in panels:
            height += LEADING * HEADING_PX * len(lines) + header + ROW_PX * rows
        height += total_gap + ROW_PX + PANEL_GAP + MARGIN
        self.resize(self.width, height)

        top = self.write(title, MARGIN, TITLE_PX, bold=True) + 8
        left = MARGIN if self.text.rtl else MARGIN + names_width  # the names on the outside
        shortened = [self.shorten(name, name_prop, names_width - NAME_PAD) for name in names]
        number = self.number_px([*table.sessions, *table.people, table.totals()], cell)
        for index, (lines, values, cmap) in enumerate(panels):
            top = self.write(lines, top, HEADING_PX, bold=True)
            self.month_row(months, month_px, left, cell, top + 4)
            top += header
            ax = self.axes(left, top, cell * table.months, ROW_PX * rows)
            self.grid(ax, values, cmap, shortened[:rows], number)
            top += ROW_PX * rows
            if index == 0:
                top += total_gap
                ax = self.axes(left, top, cell * table.months, ROW_PX)
                self.grid(ax, [table.totals()], None, shortened[rows:], number)
                top += ROW_PX + PANEL_GAP

    def shorten(self, name: str, prop: FontProperties, width: float) -> str:
        """``name``, cut short with an ellipsis if it is wider than ``width`` pixels."""
        if self.measure(name, prop) <= width:
            return name
        while len(name) > 1 and self.measure(name + "…", prop) > width:
            name = name[:-1]
        return name.rstrip() + "…"

    def grid(
        self, ax: Axes, values: list[list[int]], cmap: str | None, names: list[str],
        number_px: float,
    ) -> None:  # fmt: skip
        """One heatmap (or, without ``cmap``, the grey row of totals), its numbers in it."""
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap, Normalize, to_rgb

        rows, columns = len(values), len(values[0])
        colours: Colormap = ListedColormap([TOTAL_CELL])
        if cmap is not None:
            # the light two thirds of the map: the darkest cells still hold legible numbers
            full = colormaps[cmap]
            colours = ListedColormap(full([0.04 + 0.66 * i / 255 for i in range(256)]))
        norm = Normalize(0, max(max(row) for row in values) or 1)
        ax.pcolormesh(values, cmap=colours, norm=norm, edgecolors="white", linewidth=2)
        ax.set_xlim(
            *(columns, 0) if self.text.rtl else (0, columns)
        )  # the first month nearest the names
        ax.set_ylim(rows, 0)
        number = self.pen(number_px, bold=cmap is None)
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                red, green, blue = to_rgb(colours(norm(value)))
                dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5
                ink = "white" if dark else (GREY if value == 0 else INK)
                ax.text(
                    c + 0.5, r + 0.5, str(value), ha="center", va="center_baseline",
                    fontproperties=number, color=ink,
                )  # fmt: skip
        ax.set_yticks([r + 0.5 for r in range(rows)], names, fontproperties=self.pen(LABEL_PX))
        if self.text.rtl:
            ax.yaxis.tick_right()
        ax.set_xticks([])
        ax.tick_params(length=0, pad=8, colors=INK)
        for spine in ax.spines.values():
            spine.set_visible(False)


def _lines(labels: Sequence[str]) -> int:
    return max(label.count("\n") + 1 for label in labels)
