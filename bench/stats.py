"""/stats for 13 centres and 12 months: the reply's text (the counts of each centre) and its
activity chart (a PNG), the first time after start-up (cold: matplotlib is imported then) and
again (warm).

It does what the bot does for a coordinator's /stats: the flow (``flows.reports``) counts
the period for the text, and the chart is a document rendered when the reply is sent
(``bot.exports.chart``: the counts again, then ``bot.charts.activity_chart``), each in a
transaction of its own. The database (SQLite, in a temporary folder) holds 13 centres,
12 months of sessions and ~50,000 bookings, ~70% of them attended.

    .venv/bin/python -m bench.stats [--bookings 50000] [--people 10000] [--repeat 5] [--lang en]
    .venv/bin/python -m bench.stats --save /tmp/stats-chart.png   # to look at the chart
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from bench.export import ZONE, build, plan_for
from bot import exports
from bot.settings import PROJECT_ROOT
from flows import figures, reports
from flows.figures import Period
from flows.i18n import Catalogs, Translator
from storage.db import Database


def reply_text(database: Database, t: Translator, period: Period, now: datetime) -> str:
    """The text of the reply, as ``flows.reports`` makes it: per centre, then all centres."""
    with database.session() as db:
        centres = exports.centres_for(db, None)
        counts = figures.counts(db, period, centres, now)
    lines = [f"• {centre.name}: " + reports.summary(t, counts.by_centre[centre.id or 0])
             for centre in counts.centres]  # fmt: skip
    lines.append(t._("All centres") + ": " + reports.summary(t, counts.total))
    return "\n".join(lines)


def chart_png(
    database: Database, catalogs: Catalogs, lang: str, period: Period, now: datetime
) -> bytes:
    """The chart document, as the bot renders it when it sends the reply."""
    export = exports.Export("chart", "png", period, lang, None)
    with database.session() as db:
        return exports.chart(db, export, catalogs=catalogs, now=now)


T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def main(bookings: int, people: int, repeat: int, lang: str, save: Path | None) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    period = reports.period_of(12, today)
    assert period is not None
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as folder:
        path = Path(folder) / "stats.sqlite3"
        print("building the database ...", flush=True)
        build(path, plan_for(0, bookings, people, today))
        database = Database(f"sqlite:///{path}")
        catalogs = Catalogs.load(PROJECT_ROOT / "locales")
        t = catalogs.translator(lang)
        print(
            f"/stats of the last 12 months ({period.first} to {period.last}), all centres, {lang}"
        )

        assert "matplotlib" not in sys.modules
        text_cold, text = timed(lambda: reply_text(database, t, period, now))
        chart_cold, png = timed(lambda: chart_png(database, catalogs, lang, period, now))
        width, height = png_size(png)
        print(
            f"cold (first /stats after start-up): text {text_cold * 1000:.0f} ms + chart "
            f"{chart_cold * 1000:.0f} ms (matplotlib imported in it) = "
            f"{text_cold + chart_cold:.2f} s (target <= 2 s)"
        )
        print(
            f"  {len(text.splitlines())} lines of text; "
            f"chart {width}x{height} px, {len(png):,} bytes"
        )
        if save is not None:
            save.write_bytes(png)

        texts, charts, counts_only = [], [], []
        for _ in range(repeat):
            texts.append(timed(lambda: reply_text(database, t, period, now))[0])
            charts.append(timed(lambda: chart_png(database, catalogs, lang, period, now))[0])
            with database.session() as db:
                centres = exports.centres_for(db, None)
                counts_only.append(
                    timed(lambda: figures.counts(db, period, centres, now))[0]  # noqa: B023
                )
        totals = [a + b for a, b in zip(texts, charts, strict=True)]
        drawing = [c - n for c, n in zip(charts, counts_only, strict=True)]

        def ms(values: list[float]) -> str:
            return (
                f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
            )

        print(f"warm, {repeat} times: /stats {ms(totals)} (target <= 2 s)")
        print(f"  text (figures.counts + lines): {ms(texts)}")
        print(f"  chart document (figures.counts again + activity_chart): {ms(charts)}")
        print(f"  of which figures.counts alone: {ms(counts_only)}; the rest (labels, drawing,")
        print(f"  PNG) {ms(drawing)}")
        load = os.getloadavg()
        print(f"(machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
        database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=50_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--save", type=Path, default=None, help="write the chart here")
    args = parser.parse_args()
    main(args.bookings, args.people, args.repeat, args.lang, args.save)
