"""The /stats chart, really rendered: one centre, thirteen, none; Arabic labels shaped and in
order (a letter the font lacks would warn, and warnings are errors here); sizes a phone can
show and Telegram accepts as a photo."""

from __future__ import annotations

import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from bot import charts
from bot.charts import ChartText, MonthFigures, activity_chart
from bot.poster import PosterError

pytestmark = pytest.mark.filterwarnings("error")

YEAR = [date(2026, month, 1) for month in range(1, 13)]
ENGLISH = ChartText(
    title="Workshops, Jan 2026 – Dec 2026",
    sessions="Sessions held",
    people="People who came (each counted once a month)",
    total="All centres",
    months=[month.strftime("%b %Y") for month in YEAR],
)
ARABIC = ChartText(
    title="ورشات العمل، يناير ٢٠٢٦ – ديسمبر ٢٠٢٦",
    sessions="الجلسات المنعقدة",
    people="الأشخاص الذين حضروا (يُحسب كل شخص مرة واحدة في الشهر)",
    total="جميع المراكز",
    months=[
        *("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو"),
        *("يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"),
    ],
    rtl=True,
    empty="لم تُعقد أي جلسة في هذه الفترة.",
)
CENTRES = [
    *("Krnjača", "Obrenovac", "Banja Koviljača", "Bogovađa", "Sjenica", "Tutin", "Preševo"),
    *("Bujanovac", "Vranje", "Pirot", "Dimitrovgrad", "Principovac", "Прихватни центар Крњача"),
]


def year_of(centres: Sequence[str], months: Sequence[date] = YEAR) -> list[MonthFigures]:
    """Figures that differ from cell to cell, some of them nought, one in the hundreds."""
    figures = []
    for row, centre in enumerate(centres):
        for column, month in enumerate(months):
            sessions = (row * 7 + column * 5) % 17
            people = 0 if sessions == 0 else sessions * 3 + row + column * 11
            figures.append(MonthFigures(centre, month, sessions, people))
    return figures


def image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as opened:
        opened.load()
        return opened.copy()


def a_photo_for_a_phone(png: bytes) -> Image.Image:
    """Wide enough to hold the figures, narrow enough that a phone does not shrink the text
    away, within what Telegram takes as a photo (10 MB, sides adding up to 10000 at most)."""
    picture = image(png)
    width, height = picture.size
    assert charts.MIN_WIDTH <= width <= charts.MAX_WIDTH
    assert width + height <= 10_000 and max(width, height) / min(width, height) <= 20
    assert len(png) < 2_000_000
    assert min(picture.convert("L").tobytes()) < 100  # something dark was drawn (the figures)
    return picture


def test_one_centre_gets_bars_wider_than_tall() -> None:
    picture = a_photo_for_a_phone(activity_chart(year_of(CENTRES[:1]), YEAR, ENGLISH))
    assert picture.width == charts.MAX_WIDTH  # twelve months fill the width
    assert picture.height < picture.width


def test_thirteen_centres_by_twelve_months_stay_readable() -> None:
    picture = a_photo_for_a_phone(activity_chart(year_of(CENTRES), YEAR, ENGLISH))
    # two heatmaps of 13 rows (and the total row): each row keeps ROW_PX pixels
    assert picture.height >= 27 * charts.ROW_PX
    assert picture.height < 1.3 * picture.width  # shown whole on a phone, or nearly


def test_a_few_months_make_a_narrower_image_whose_text_is_shown_larger() -> None:
    quarter = YEAR[:3]
    text = ChartText("Q1", "Sessions", "People", "All", ENGLISH.months[:3])
    for centres in (CENTRES[:1], CENTRES[:3]):
        picture = a_photo_for_a_phone(activity_chart(year_of(centres, quarter), quarter, text))
        assert picture.width < charts.MAX_WIDTH


@pytest.mark.parametrize(
    "figures", [[], [MonthFigures("Tutin", YEAR[3], 0, 0)]], ids=["none", "noughts"]
)
def test_no_sessions_at_all_is_a_small_notice(figures: list[MonthFigures]) -> None:
    picture = image(activity_chart(figures, YEAR, ENGLISH))
    assert picture.width == charts.MIN_WIDTH and picture.height < 300


@pytest.mark.parametrize("centres", [1, 3])
def test_arabic_labels_render_with_every_letter(centres: int) -> None:
    names = ["مركز كرنياتشا", "أوبرينوفاتس", "بانيا كوفيلياتشا", *CENTRES][:centres]
    picture = a_photo_for_a_phone(activity_chart(year_of(names), YEAR, ARABIC))
    assert picture.width == charts.MAX_WIDTH
    image(activity_chart([], YEAR, ARABIC))


def test_arabic_is_shaped_and_laid_out_right_to_left() -> None:
    """What the chart's text goes through (matplotlib 3.11's libraqm layout): joined letters
    are much narrower than a row of isolated ones, and a number after Arabic words is
    drawn on their left."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    regular = charts.find_fonts().regular
    prop = FontProperties(fname=regular, size=48)
    figure = Figure(figsize=(6, 1), dpi=100)
    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
    word = "ورشات العمل"
    shaped, _, _ = renderer.get_text_width_height_descent(word, prop, ismath=False)
    basic = ImageFont.Layout.BASIC  # letter after letter, no shaping
    isolated = ImageFont.truetype(str(regular), 48 * 100 / 72, layout_engine=basic).getlength(word)
    assert shaped < 0.9 * isolated

    number, _, _ = renderer.get_text_width_height_descent("2026", prop, ismath=False)

    def leftmost_ink(text: str) -> bytes:
        figure.clear()
        figure.text(0.02, 0.2, text, fontproperties=prop, color="black")
        raw = io.BytesIO()
        figure.savefig(raw, format="rgba")
        drawn = Image.frombytes("RGBA", (600, 100), raw.getvalue()).convert("L")
        return drawn.crop((0, 0, 20 + round(number), drawn.height)).tobytes()

    alone = leftmost_ink("2026")
    assert min(alone) < 50  # the number's ink is in the crop
    assert leftmost_ink(f"{word} 2026") == alone
    assert leftmost_ink(f"2026 {word}") != alone  # read first, so drawn rightmost


def test_the_same_figures_give_the_same_png_from_parallel_threads() -> None:
    figures = year_of(CENTRES[:2], YEAR[:3])
    text = ChartText("A quarter", "Sessions", "People", "All", ENGLISH.months[:3])
    alone = activity_chart(figures, YEAR[:3], text)
    with ThreadPoolExecutor(max_workers=3) as pool:
        drawn = list(pool.map(lambda _: activity_chart(figures, YEAR[:3], text), range(3)))
    assert drawn == [alone] * 3


def test_only_sessions_are_added_up_across_centres() -> None:
    table = charts._Table.of(year_of(CENTRES[:3]), YEAR)
    assert table.centres == CENTRES[:3]
    assert table.totals() == [sum(row[m] for row in table.sessions) for m in range(12)]
    missing = charts._Table.of([MonthFigures("A", YEAR[1], 2, 5)], YEAR)
    assert missing.sessions == [[0, 2, *[0] * 10]] and missing.people == [[0, 5, *[0] * 10]]


def test_figures_that_do_not_match_the_months_are_refused() -> None:
    with pytest.raises(ValueError, match="11 month labels for 12 months"):
        activity_chart([], YEAR, ChartText("t", "s", "p", "a", ENGLISH.months[:11]))
    with pytest.raises(ValueError, match="not one of the months"):
        activity_chart(year_of(CENTRES[:1], [date(2025, 12, 1)]), YEAR, ENGLISH)
    twice = year_of(CENTRES[:1], YEAR[:1]) * 2
    with pytest.raises(ValueError, match="two figures"):
        activity_chart(twice, YEAR, ENGLISH)


def test_the_font_setting_is_used_or_refused(tmp_path: Path) -> None:
    found = charts.find_fonts()
    assert found.regular.is_file() and found.bold.is_file()
    assert image(activity_chart(year_of(CENTRES[:2]), YEAR, ENGLISH, font=found.regular))
    with pytest.raises(PosterError, match="not a font file"):
        activity_chart(year_of(CENTRES[:2]), YEAR, ENGLISH, font=tmp_path / "none.ttf")


@pytest.mark.parametrize("centres", [1, 3])
def test_right_to_left_the_page_is_mirrored_and_the_months_run_from_the_right(
    centres: int,
) -> None:
    """Arabic: the first month is the rightmost column and the centres' names are on the
    right of their rows; in English the other way round. Read off the drawn figure."""
    for text, rtl in ((ENGLISH, False), (ARABIC, True)):
        figure = charts.draw(year_of(CENTRES[:centres]), YEAR, text)
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        # (a month's label may be broken into two lines: its first line is enough)
        x = {t.get_text().split("\n")[0]: t.get_window_extent(renderer).x0 for t in figure.texts}
        first, last = (x[label.split(" ")[0]] for label in (text.months[0], text.months[-1]))
        assert bool(first > last) == rtl, text.months[0]
        if centres > 1:
            grid = figure.axes[-1]  # the people's heatmap
            box = grid.get_window_extent(renderer)
            names = [label.get_window_extent(renderer) for label in grid.get_yticklabels()]
            assert len(names) == centres
            assert all(bool(name.x0 >= box.x1) == rtl for name in names)
            assert all(bool(name.x1 <= box.x0) != rtl for name in names)
