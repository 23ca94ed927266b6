"""The printable poster: what is on it, that its codes hold the centre's links, that Arabic is
shaped and ordered, the ``workshopbot poster`` command, and staff getting it in the chat on
Telegram (an upload) and on Viber (a file message whose signed link our web server serves).

Catalogs with the poster's lines translated are written to a temporary folder, as the real
ones are laid out: the real catalogs get these lines when the messages are next translated.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import segno
from PIL import Image, ImageChops, ImageDraw, ImageFont
from sqlmodel import select

from bot import poster
from bot.app import App, build_app
from bot.channels.base import Delivery
from bot.channels.console import ConsoleChannel
from bot.documents import (
    CACHE_SECONDS,
    MAKING_STRIPES,
    DocumentError,
    Documents,
    File,
    Progress,
)
from flows import posters
from flows.clock import FakeClock
from flows.conversation import decode_replies, encode_replies
from flows.events import Address
from flows.i18n import Catalogs
from flows.links import Links
from flows.replies import Document, Reply
from storage import queries as q
from storage.db import Database
from storage.models import AuditEntry
from storage.queries.languages import centre_locales
from tests.conftest import make_settings
from tests.dialogue import Resident
from tests.e2e import serve
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.seeding import World, seed
from tests.staffing import invitation, staff_member
from tests.test_cli import workshopbot
from tests.test_e2e_viber import until

LINKS = Links("workshop_test_bot", "workshoptestbot")
TRANSLATED = {
    "ar": ("امسح الرمز للتسجيل في ورشات العمل", "مجانية وطوعية. لا نحتفظ بأي أسماء."),
    "fa": (
        "برای ثبت‌نام در کارگاه‌ها اسکن کنید",
        "رایگان و داوطلبانه. هیچ نامی نگه داشته نمی‌شود.",
    ),
    "ps": (
        "په ورکشاپونو کې د نوم لیکنې لپاره سکن کړئ",
        "وړیا او داوطلبانه. هیڅ نومونه نه ساتل کیږي.",
    ),
    "uk": (
        "Скануйте, щоб записатися на заняття",
        "Безкоштовно і добровільно. Імена не зберігаються.",
    ),
    "sr_Latn": (
        "Skenirajte da se prijavite na radionice",
        "Besplatno i dobrovoljno. Imena se ne čuvaju.",
    ),
    "ur": ("ورکشاپس میں نام لکھوانے کے لیے اسکین کریں", ""),
    "tr": ("", ""),  # a catalog that does not translate the poster yet
}


def write_catalogs(folder: Path, texts: dict[str, tuple[str, str]]) -> Catalogs:
    """Catalogs that translate the poster's two lines (an empty text: not translated)."""
    for code, (call, note) in {"en": ("", ""), **texts}.items():
        entries = "".join(
            f'\nmsgid "{msgid}"\nmsgstr "{msgstr}"\n'
            for msgid, msgstr in ((poster.SIGN_UP, call), (poster.FREE, note))
            if msgstr
        )
        po = folder / code / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True, exist_ok=True)
        header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        po.write_text(header + entries, encoding="utf-8")
    return Catalogs.load(folder)


@pytest.fixture(scope="module")
def fonts() -> poster.Fonts:
    return poster.Fonts.find()


@pytest.fixture
def catalogs(tmp_path: Path) -> Catalogs:
    return write_catalogs(tmp_path / "locales", TRANSLATED)


def compose(
    catalogs: Catalogs, fonts: poster.Fonts, locales: list[str], links: Links = LINKS
) -> poster.Poster:
    return poster.compose(
        title="Krnjača", slug="krnjaca", links=links, catalogs=catalogs, locales=locales,
        fonts=fonts,
    )  # fmt: skip


# --- the page -------------------------------------------------------------------------------


def test_the_pdf_is_one_a4_page(catalogs: Catalogs, fonts: poster.Fonts) -> None:
    content = compose(catalogs, fonts, ["ar", "fa", "sr_Latn", "en", "uk", "ps"])
    assert [line.locale for line in content.lines] == ["ar", "fa", "sr_Latn", "en", "uk", "ps"]
    rendered = poster.render(content, fonts, dpi=200)
    data = poster.encode(rendered, "pdf")
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box is not None
    width, height = float(box.group(1)), float(box.group(2))
    assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1  # A4 in points
    assert rendered.image.size == (1654, 2339)
    assert rendered.notes  # six languages leave room for the second lines too
    assert len(data) < 2_000_000


def sample(image: Image.Image, code: poster.PlacedCode) -> list[list[bool]]:
    """The rendered code read back at each module's centre (dark or not)."""
    grey = image.convert("L")
    centre = code.module // 2

    def dark(row: int, col: int) -> bool:
        x = code.left + col * code.module + centre
        y = code.top + row * code.module + centre
        value = grey.getpixel((x, y))
        assert isinstance(value, int)
        return value < 128

    return [[dark(row, col) for col in range(code.modules)] for row in range(code.modules)]


def quiet_zone(image: Image.Image, code: poster.PlacedCode) -> list[tuple[int, int]]:
    """The darkest and lightest grey of each of the four white margins a code needs."""
    grey = image.convert("L")
    quiet = poster.QR_QUIET * code.module
    left, top = code.left, code.top
    right, bottom = left + code.modules * code.module, top + code.modules * code.module
    strips = [
        (left - quiet, top - quiet, right + quiet, top),
        (left - quiet, bottom, right + quiet, bottom + quiet),
        (left - quiet, top, left, bottom),
        (right, top, right + quiet, bottom),
    ]
    return [grey.crop(strip).getextrema() for strip in strips]  # type: ignore[misc]


@pytest.mark.parametrize("links", [LINKS, Links("workshop_test_bot", None), Links(None, "wsbot")])
def test_the_codes_hold_the_centres_links(
    catalogs: Catalogs, fonts: poster.Fonts, links: Links
) -> None:
    content = compose(catalogs, fonts, ["en", "ar"], links)
    rendered = poster.render(content, fonts, dpi=150)
    image = Image.open(io.BytesIO(poster.encode(rendered, "png")))  # read back from the file
    assert image.size == poster.page_size(150)
    placed = rendered.codes
    assert [(c.platform, c.link) for c in placed] == links.all("krnjaca")
    for code in placed:
        matrix = segno.make(code.link, error=poster.QR_ERROR, micro=False).matrix
        assert sample(image, code) == [[bool(v) for v in row] for row in matrix]
        assert quiet_zone(image, code) == [(255, 255)] * 4  # white all round, for cameras
    if len(placed) == 1:  # one code alone stands in the middle of the page
        middle = placed[0].left + placed[0].modules * placed[0].module / 2
        assert abs(middle - image.width / 2) <= placed[0].module


def test_no_link_at_all_is_refused(catalogs: Catalogs, fonts: poster.Fonts) -> None:
    with pytest.raises(poster.PosterError, match="links are not known"):
        compose(catalogs, fonts, ["en"], Links(None, None))
    content = compose(catalogs, fonts, ["en"])
    with pytest.raises(poster.PosterError, match="100 to 300 dpi"):
        poster.render(content, fonts, dpi=1000)
    with pytest.raises(poster.PosterError, match=r"\.pdf or \.png"):
        poster.kind_of(Path("poster.docx"))


# --- right-to-left lines --------------------------------------------------------------------


def line_image(fonts: poster.Fonts, text: str, rtl: bool, language: str | None) -> Image.Image:
    """One line as the poster draws it, in black and white."""
    image = Image.new("L", (1400, 160), 255)
    page = poster._Page(image, fonts, shaped=True)
    page.centred(text, page.font(60, bold=True), 30, "black", poster._Way(rtl, language))
    return image.point(lambda v: 0 if v < 128 else 255)


def leftmost(image: Image.Image, width: int | None = None) -> Image.Image:
    """The inked columns (the first ``width`` of them), full height: baselines stay aligned."""
    box = ImageChops.invert(image).getbbox()
    assert box is not None, "nothing was drawn"
    left, _, right, _ = box
    return image.crop((left, 0, left + (width or right - left), image.height))


def agreement(expected: Image.Image, found: Image.Image) -> float:
    """1.0 when every inked pixel of ``expected`` is drawn the same in ``found``."""
    ink = ImageChops.invert(expected).histogram()[255]
    wrong = ImageChops.difference(expected, found).histogram()[255]
    return 1 - wrong / ink


def test_arabic_letters_are_joined(fonts: poster.Fonts) -> None:
    word = "مرحبا بكم"
    drawn = line_image(fonts, word, True, "ar")
    font = ImageFont.truetype(str(fonts.bold), 60, layout_engine=ImageFont.Layout.RAQM)

    def direct(features: list[str] | None) -> Image.Image:
        image = Image.new("L", drawn.size, 255)
        left, _, right, _ = font.getbbox(word, direction="rtl", language="ar", features=features)
        x = image.width // 2 - (left + right) / 2
        ImageDraw.Draw(image).text(
            (x, 30), word, font=font, fill=0, direction="rtl", language="ar", features=features
        )
        return image.point(lambda v: 0 if v < 128 else 255)

    isolated = direct(["-init", "-medi", "-fina", "-rlig"])
    assert agreement(direct(None), drawn) == 1.0  # what HarfBuzz shapes is what is printed
    assert agreement(isolated, drawn) < 0.6  # not a row of unjoined letters


@pytest.mark.parametrize(
    ("line", "latin"),
    [("سجّل في Telegram", "Telegram"), ("ورشات عام 2026", "2026"), ("تبدأ الساعة 10:30", "10:30")],
)
def test_latin_words_and_numbers_keep_their_order_in_rtl_lines(
    fonts: poster.Fonts, line: str, latin: str
) -> None:
    """Read from the right, the Latin word (or number) comes last: it is the leftmost ink,
    and its letters run left to right."""
    word = leftmost(line_image(fonts, latin, False, None))
    drawn = leftmost(line_image(fonts, line, True, "ar"), word.width)
    assert agreement(word, drawn) > 0.85
    backwards = leftmost(line_image(fonts, latin[::-1], False, None))
    assert (
        agreement(backwards, leftmost(line_image(fonts, line, True, "ar"), backwards.width)) < 0.5
    )


def test_without_shaping_no_rtl_poster_is_drawn(
    catalogs: Catalogs, fonts: poster.Fonts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poster, "can_shape", lambda: False)  # as on a Pillow without libraqm
    with pytest.raises(poster.PosterError, match="libraqm"):
        compose(catalogs, fonts, ["en", "fa"])
    content = compose(catalogs, fonts, ["en", "sr_Latn", "uk"])  # left to right only: fine
    assert poster.render(content, fonts).image.size == poster.page_size(poster.DEFAULT_DPI)


# --- which languages --------------------------------------------------------------------------


def test_lines_that_cannot_be_printed_are_left_out_and_named(
    catalogs: Catalogs, fonts: poster.Fonts
) -> None:
    content = compose(catalogs, fonts, ["tr", "ur", "ar", "en"])
    assert [line.locale for line in content.lines] == ["ar", "en"]
    reasons = dict(content.left_out)
    assert reasons["tr"] == "not translated yet"
    assert "ے" in reasons["ur"]  # DejaVu Sans has no Urdu yeh barree: never print boxes
    assert content.lines[0].rtl and content.lines[0].note is not None


def test_the_default_languages_are_the_residents_topped_up(
    app: App, catalogs: Catalogs, fonts: poster.Fonts, clock: FakeClock
) -> None:
    world = seed(app.database, clock.now())
    with app.database.session() as db:
        for n, locale in enumerate(["fa", "fa", "fa", "ps", "ps", "tr", "uk"]):
            q.create_person(
                db, app.vault, channel="telegram", user_key=f"r{n}", locale=locale,
                centre_id=world.krnjaca, now=clock.now(),
            )  # fmt: skip
        q.create_person(
            db, app.vault, channel="telegram", user_key="elsewhere", locale="ar",
            centre_id=world.obrenovac, now=clock.now(),
        )  # fmt: skip
    for n in range(3):  # staff read the poster less than residents do: not counted
        staff_member(app, f"staff{n}", world.krnjaca, language="en")
    with app.database.session() as db:
        counts = centre_locales(db, world.krnjaca)
        krnjaca = q.centre_by_id(db, world.krnjaca)
        assert krnjaca is not None
        content = poster.centre_poster(db, krnjaca, links=LINKS, catalogs=catalogs, fonts=fonts)
    assert counts == [("fa", 3), ("ps", 2), ("tr", 1), ("uk", 1)]  # no staff, no Obrenovac
    tried = ["fa", "ps", "tr", "uk", "en", "ar", "sr_Latn"]
    assert poster.choose_locales(catalogs, counts) == tried
    # tr has no translation yet: left out (and named); English takes its place among four.
    assert [line.locale for line in content.lines] == ["fa", "ps", "uk", "en"]
    assert content.left_out == (("tr", "not translated yet"),)
    assert poster.choose_locales(catalogs, [("ps", 4), ("xx", 9)])[:4] == ["ps", "en", "ar", "fa"]
    assert poster.choose_locales(catalogs, []) == ["en", "ar", "fa", "sr_Latn"]
    assert poster.choose_locales(catalogs, [], ["sr-Latn", "AR", "ar"]) == ["sr_Latn", "ar"]
    with pytest.raises(poster.PosterError, match="no translations for 'xx'"):
        poster.choose_locales(catalogs, [], ["xx"])


# --- the command line -------------------------------------------------------------------------


def test_the_command_writes_the_poster(tmp_path: Path) -> None:
    added = workshopbot(tmp_path, "centre", "add", "--slug", "krnjaca", "--name", "Krnjača")
    assert added.returncode == 0, added.stderr

    nothing = workshopbot(tmp_path, "poster", "--centre", "krnjaca", "-o", "poster.pdf")
    assert nothing.returncode == 2
    assert nothing.stderr.startswith("workshopbot: the bot's links are not known")
    assert not (tmp_path / "poster.pdf").exists()

    made = workshopbot(
        tmp_path, "poster", "--centre", "krnjaca", "-o", "poster.pdf", "--lang", "en",
        "--lang", "ar", VIBER_CHAT_URI="workshoptestbot",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    data = (tmp_path / "poster.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert "wrote poster.pdf" in made.stdout and "Krnjača" in made.stdout
    assert "Viber QR code: viber://pa?chatURI=workshoptestbot&context=krnjaca" in made.stdout
    assert "no Telegram QR code" in made.stdout
    assert "languages: en" in made.stdout

    png = workshopbot(
        tmp_path, "poster", "--centre", "krnjaca", "-o", "poster.png", "--dpi", "100",
        VIBER_CHAT_URI="workshoptestbot",
    )  # fmt: skip
    assert png.returncode == 0, png.stderr
    with Image.open(tmp_path / "poster.png") as image:
        assert (image.format, image.size) == ("PNG", poster.page_size(100))

    for args, why in (
        (["--centre", "nowhere", "-o", "p.pdf"], "no centre 'nowhere'"),
        (["--centre", "krnjaca", "-o", "p.txt"], "must end in .pdf or .png"),
        (["--centre", "krnjaca", "-o", "p.pdf", "--lang", "xx"], "no translations for 'xx'"),
    ):
        refused = workshopbot(tmp_path, "poster", *args, VIBER_CHAT_URI="workshoptestbot")
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr.startswith("workshopbot: ") and why in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


# --- in the chat --------------------------------------------------------------------------------


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    world = seed(app.database, clock.now())
    with app.database.session() as db:
        q.remember_username(db, "telegram", "workshop_test_bot", clock.now())
    return world


def poster_audits(app: App) -> list[AuditEntry]:
    with app.database.session() as db:
        return list(db.exec(select(AuditEntry).where(AuditEntry.action == "poster")))


def test_staff_ask_for_the_poster_and_the_reply_names_it(app: App, world: World) -> None:
    amira = staff_member(app, "amira", world.krnjaca)
    [reply] = amira.tap("Poster")
    assert reply.document == Document("poster", "krnjaca", "poster-krnjaca.pdf")
    assert "The poster for Krnjača." in reply.text
    [entry] = poster_audits(app)
    assert (entry.centre_id, entry.role) == (world.krnjaca, "staff")
    # A reply kept for sending after a crash keeps its document.
    assert decode_replies(encode_replies([reply, Reply("plain")])) == [reply, Reply("plain")]


def test_residents_and_coordinators_get_no_poster(app: App, world: World) -> None:
    sara = Resident(app.conversation, "sara", "en")
    sara.send("/start krnjaca")
    sara.tap("English")
    sara.tap("I agree")
    [reply] = sara.tap_data(posters.POSTER.data())  # a forged staff button
    assert "not allowed" in reply.text and reply.document is None
    coordinator = staff_member(app, "cora", None, role="coordinator")
    with pytest.raises(AssertionError, match="no button 'Poster'"):
        coordinator.button("Poster")  # read-only: not offered...
    [reply] = coordinator.tap_data(posters.POSTER.data())  # ...and refused when forged
    assert "not allowed" in reply.text
    assert reply.document is None
    assert poster_audits(app) == []


def test_without_links_staff_are_told_why(app: App, clock: FakeClock) -> None:
    world = seed(app.database, clock.now())  # no username remembered, no VIBER_CHAT_URI
    amira = staff_member(app, "amira", world.krnjaca)
    [reply] = amira.tap("Poster")
    assert reply.document is None and "cannot be made yet" in reply.text
    assert poster_audits(app) == []


async def test_staff_get_the_poster_on_telegram(
    telegram: FakeTelegram, polling: tuple[App, World]
) -> None:
    app, world = polling
    user = telegram.user("Amira", "en")
    telegram.send_text(user, f"/start staff-{invitation(app, 'staff', world.krnjaca)}")
    await telegram.wait_for(lambda: "I agree" in str(telegram.messages(user)), timeout=10)
    telegram.press(user, "I agree")
    await telegram.wait_for(lambda: "Staff tools" in telegram.texts(user)[-1], timeout=10)
    telegram.press(user, "Poster")
    await telegram.wait_for(lambda: bool(telegram.documents(user)), timeout=20)

    [upload] = telegram.documents(user)
    assert upload.filename == "poster-krnjaca.pdf" and upload.mime_type == "application/pdf"
    assert upload.data.startswith(b"%PDF") and upload.size > 10_000
    message = telegram.last_message(user)
    assert message["message_id"] == upload.message_id  # the file is the last message...
    assert message["caption"].startswith("🖼 The poster for Krnjača.")  # ...with the text
    assert any("Staff tools" in label for label, _ in telegram.buttons(message))
    assert len(poster_audits(app)) == 1
    await telegram.wait_idle()
    assert telegram.too_many_requests == 0


async def viber_staff_poster(fake: FakeViber, app: App, world: World) -> tuple[str, int]:
    """A staff member opens an invitation on Viber and asks for the poster: its file URL."""
    user = fake.user("Amira", "en")
    welcome = await fake.open(user, f"staff-{invitation(app, 'staff', world.krnjaca)}")
    assert "invitation" in welcome["text"]
    await fake.tap(user, "I agree")
    await until(fake, user, "Staff tools")
    await fake.tap(user, "Poster")
    await until(fake, user, "The poster for Krnjača")
    [file] = fake.files(user)
    messages = fake.messages(user)
    assert messages[-2] == file and messages[-1].get("keyboard")  # file, then text + buttons
    assert file["file_name"] == "poster-krnjaca.pdf"
    return str(file["media"]), int(file["size"])


@pytest.fixture
async def served(
    viber: FakeViber, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, World, str]]:
    async for value in serve(viber, database, clock, tmp_path, viber_chat_uri="workshoptestbot"):
        yield value


async def test_staff_get_the_poster_on_viber_from_a_signed_link(
    viber: FakeViber, served: tuple[App, World, str], clock: FakeClock
) -> None:
    app, world, base = served
    media, size = await viber_staff_poster(viber, app, world)
    assert media.startswith(f"{base}/files/poster.krnjaca.")
    async with httpx.AsyncClient() as client:
        fetched = await client.get(media)
        assert fetched.status_code == 200
        assert fetched.content.startswith(b"%PDF") and len(fetched.content) == size
        assert fetched.headers["content-type"] == "application/pdf"
        assert 'filename="poster-krnjaca.pdf"' in fetched.headers["content-disposition"]

        token = media.rsplit("/", 1)[1]
        kind, key, expires, signature = token.split(".")
        forged = [
            f"{kind}.{key}.{expires}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
            f"{kind}.obrenovac.{expires}.{signature}",  # another centre, the same signature
            f"{kind}.{key}.{int(expires) + 86400}.{signature}",  # a later expiry
            "poster.krnjaca",
            "../../etc/passwd",
        ]
        for token_ in forged:
            assert (await client.get(f"{base}/files/{token_}")).status_code == 404, token_
        clock.advance(timedelta(hours=1, seconds=1))
        assert (await client.get(media)).status_code == 404  # expired
    assert len(poster_audits(app)) == 1


async def test_the_terminal_chat_saves_the_document(
    database: Database, clock: FakeClock, tmp_path: Path
) -> None:
    console = ConsoleChannel(io.StringIO(), io.StringIO())
    app = build_app(make_settings(tmp_path), clock=clock, channels=[console], database=database)
    seed(database, clock.now())
    with database.session() as db:
        q.remember_username(db, "telegram", "workshop_test_bot", clock.now())
    reply = Reply("🖼 The poster for Krnjača.", document=Document("poster", "krnjaca", "p.pdf"))
    sent = await console.send(Delivery(Address("console", "local"), reply))
    app.dispatcher.close()
    assert sent.ok
    printed = console.stdout.getvalue()  # type: ignore[attr-defined]
    saved = tmp_path / "documents" / "p.pdf"
    assert f"Document saved: {saved}" in printed and "The poster for Krnjača." in printed
    assert saved.read_bytes().startswith(b"%PDF")


def test_documents_are_rendered_once_for_a_few_minutes(app: App, world: World) -> None:
    now = [0.0]
    documents = Documents(
        app.database, app.catalogs, viber_uri=None, font=None, folder=Path("."),
        monotonic=lambda: now[0],
    )  # fmt: skip
    first = documents.render(Document("poster", "krnjaca", "poster-krnjaca.pdf"))
    again = documents.render(Document("poster", "krnjaca", "wall.pdf"))
    assert (first.data, documents.renders) == (again.data, 1) and again.filename == "wall.pdf"
    now[0] += 301
    documents.render(Document("poster", "krnjaca", "poster-krnjaca.pdf"))
    assert documents.renders == 2
    with pytest.raises(DocumentError, match="no centre"):
        documents.render(Document("poster", "atlantis", "x.pdf"))
    with pytest.raises(DocumentError, match="unknown kind"):
        documents.render(Document("menu", "krnjaca", "x.pdf"))


def test_a_slow_document_holds_back_only_itself_and_what_expired_is_forgotten(
    app: App, world: World
) -> None:
    """A minute-long export must not stop a poster meanwhile; and kept files (an export can
    be 30 MB) must not pile up once they have expired."""
    started, release = threading.Event(), threading.Event()

    class SlowExports(Documents):
        def _render(self, document: Document, progress: Progress | None = None) -> File:
            if document.kind != "export":
                return super()._render(document, progress)
            started.set()
            assert release.wait(10)
            return File("counts.csv", b"slow", "text/csv")

    now = [0.0]
    documents = SlowExports(
        app.database, app.catalogs, viber_uri=None, font=None, folder=Path("."),
        monotonic=lambda: now[0],
    )  # fmt: skip
    poster_key = ("poster", "krnjaca")
    stripe = hash(poster_key) % MAKING_STRIPES
    slow_key = next(
        key for key in (f"slow-{n}" for n in range(100))
        if hash(("export", key)) % MAKING_STRIPES != stripe
    )  # (the same stripe would hold it back, as it does the same document)  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(documents.render, Document("export", slow_key, ""))
        assert started.wait(10)
        made = documents.render(Document(*poster_key, "p.pdf"))
        assert made.data.startswith(b"%PDF") and not slow.done()
        release.set()
        assert slow.result(10).data == b"slow"
    assert documents.kept() == 2 and documents.renders == 2
    now[0] += CACHE_SECONDS + 1  # both expired; the next document kept drops them
    documents.render(Document("poster", "obrenovac", "o.pdf"))
    assert documents.kept() == 1 and documents.renders == 3
