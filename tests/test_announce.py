"""Staff write a notice in the chat and send it now or later (flows/announce.py), as dialogues
with the database checked afterwards. Every test runs on SQLite and PostgreSQL.

Nothing is sent here: a notice is stored with one ledger entry per recipient, and the sender
(tested elsewhere) delivers it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlmodel import col, select

from bot.app import App, build_app
from flows import announce, broadcasts
from flows.clock import FakeClock
from flows.events import Choice, Incoming
from flows.i18n import RLM
from flows.replies import Reply
from flows.router import Int
from storage import queries as q
from storage.db import Database
from storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastState,
    LedgerEntry,
    LedgerState,
    Person,
)
from tests.conftest import T0, make_settings
from tests.dialogue import Resident, Step, verify_dialog
from tests.seeding import World, seed
from tests.staffing import ref_of, staff_member

NOT_ALLOWED = "not allowed"
WRITE = "Please write the notice"


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def residents(
    app: App,
    centre_id: int,
    locales: list[str],
    *,
    channel: str = "telegram",
    seen: datetime = T0,
    prefix: str = "r",
) -> list[int]:
    """People who agreed, at a centre, reading these languages (ids, in order)."""
    ids = []
    with app.database.session() as db:
        for number, locale in enumerate(locales):
            person = q.create_person(
                db, app.vault, channel=channel, user_key=f"{prefix}{centre_id}-{number}",
                locale=locale, centre_id=centre_id, now=seen,
            )  # fmt: skip
            assert person.id is not None
            ids.append(person.id)
    return ids


def book(app: App, people: list[int], session_id: int, centre_id: int) -> None:
    with app.database.session() as db:
        for person_id in people:
            q.book(db, person_id=person_id, session_id=session_id, centre_id=centre_id, now=T0)


def sent(app: App) -> list[Broadcast]:
    """Notices stored to be sent (drafts are not)."""
    with app.database.session() as db:
        return list(
            db.exec(
                select(Broadcast)
                .where(col(Broadcast.state) != BroadcastState.DRAFT)
                .order_by(col(Broadcast.id))
            ).all()
        )


def drafts(app: App) -> list[Broadcast]:
    with app.database.session() as db:
        return list(
            db.exec(select(Broadcast).where(col(Broadcast.state) == BroadcastState.DRAFT)).all()
        )


def entries(app: App, broadcast_id: int | None = None) -> list[LedgerEntry]:
    with app.database.session() as db:
        query = select(LedgerEntry).where(col(LedgerEntry.broadcast_id).is_not(None))
        if broadcast_id is not None:
            query = query.where(LedgerEntry.broadcast_id == broadcast_id)
        return list(db.exec(query.order_by(col(LedgerEntry.person_id))).all())


def audit(app: App, action: str) -> list[AuditEntry]:
    with app.database.session() as db:
        return [entry for entry in q.audit_entries(db) if entry.action == action]


def tables(app: App) -> dict[str, int]:
    """Rows in every table (whatever the schema holds today)."""
    with app.database.session() as db:
        names = inspect(db.connection()).get_table_names()
        return {
            name: int(db.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in sorted(names)
            if name not in ("alembic_version", "audit_log")
        }


def texts_of(replies: list[Reply]) -> str:
    return "\n".join(
        [reply.text for reply in replies]
        + [button.label for reply in replies for row in reply.buttons for button in row]
    )


def compose(person: Resident, notice: str, audience: str = "Everyone at Krnjača") -> None:
    """Announce → audience → the text: the preview is shown."""
    verify_dialog(
        person,
        [
            (("tap", "Announce"), ["A notice for", "Who should receive it?"]),
            (("tap", audience), WRITE),
            Step(notice, ["Above: the notice", "Send now"], absent=NOT_ALLOWED),
        ],
    )


# --- composing and sending ------------------------------------------------------------------


def test_a_notice_to_the_centre_goes_to_its_residents_only(app: App, world: World) -> None:
    krnjaca = residents(app, world.krnjaca, ["en", "ar", "en"])
    residents(app, world.obrenovac, ["en", "ar"])
    boss = staff_member(app, "boss", world.krnjaca)
    verify_dialog(
        boss,
        [
            (("tap", "Announce"), ["A notice for Krnjača.", "Everyone at Krnjača"]),
            (("tap", "Everyone at Krnjača"), ["To everyone at Krnjača.", WRITE, "3,500"]),
            Step(
                "The water will be off on Friday from 10:00 to 12:00.",
                [
                    "Notice from Krnjača:",
                    "The water will be off on Friday",
                    "3 people will receive it.",
                    "English: 2",
                    "العربية: 1, not translated",
                ],
            ),
        ],
    )
    assert not sent(app), "nothing is stored before Send now"
    replies = boss.tap("Send now")
    assert replies[0].replace and "Sending to 3 people…" in replies[0].text
    assert not replies[0].buttons  # the sender edits this message: live progress
    assert boss.last_outcome is not None and boss.last_outcome.notify
    assert "Staff tools" in boss.last

    [notice] = sent(app)
    assert notice.state == BroadcastState.SCHEDULED and notice.send_at == T0
    assert notice.author == ref_of(app, boss) and notice.author_locale == "en"
    assert broadcasts.versions(notice) == {
        "en": "The water will be off on Friday from 10:00 to 12:00."
    }
    assert notice.base_locale == "en" and notice.recipients == 3
    assert sorted(entry.person_id for entry in entries(app, notice.id)) == sorted(krnjaca)
    assert {entry.state for entry in entries(app)} == {LedgerState.PENDING}
    assert notice.progress_channel == "telegram" and notice.progress_enc is not None
    assert json.loads(app.vault.open(notice.progress_enc))["user"] == "boss"
    assert not drafts(app)
    [created] = audit(app, "broadcast created")
    assert created.actor == ref_of(app, boss) and created.centre_id == world.krnjaca
    assert "everyone, 3 people" in created.detail and "water" not in created.detail


def test_a_notice_to_the_people_booked_on_one_workshop(app: App, world: World) -> None:
    people = residents(app, world.krnjaca, ["en", "en", "ar", "en"])
    book(app, people[:2], world.sewing, world.krnjaca)
    book(app, people[2:3], world.it, world.krnjaca)
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    verify_dialog(
        boss,
        [
            Step(
                ("tap", "People booked on one workshop"),
                ["Which workshop?", "Sewing workshop", "IT basics", "2 people", "1 person"],
                absent=["Obrenovac sewing", "Cancelled football", "Yesterday's art"],
            ),
            (("tap", "Sewing workshop"), ["To the people booked on", "Sewing workshop", WRITE]),
            ("Bring your own fabric, please.", "2 people will receive it."),
            (("tap", "Send now"), "Sending to 2 people…"),
        ],
    )
    [notice] = sent(app)
    assert notice.audience == "session" and notice.session_id == world.sewing
    assert sorted(entry.person_id for entry in entries(app)) == sorted(people[:2])
    assert f"session {world.sewing}" in audit(app, "broadcast created")[0].detail


def test_a_notice_to_the_people_who_use_one_language(app: App, world: World) -> None:
    people = residents(app, world.krnjaca, ["en", "ar", "ar", "sr_Latn"])
    residents(app, world.obrenovac, ["ar"])
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    verify_dialog(
        boss,
        [
            (("tap", "People who use one language"), ["Which language?", "العربية (2)"]),
            (("tap", "العربية"), ["To the people at Krnjača who use العربية.", WRITE]),
            ("Doctor visits on Monday.", "2 people will receive it."),
            (("tap", "Send now"), "Sending to 2 people…"),
        ],
    )
    [notice] = sent(app)
    assert notice.audience == "language" and notice.language == "ar"
    assert [entry.person_id for entry in entries(app)] == people[1:3]


def test_an_arabic_version_is_previewed_right_to_left_beside_the_fallback(
    app: App, world: World
) -> None:
    residents(app, world.krnjaca, ["en", "ar", "sr_Latn"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Football at 17:00 today.")
    verify_dialog(
        boss,
        [
            (("tap", "Add a version in another language"), "Which language would you like"),
            (("tap", "العربية"), ["Please write the notice in العربية", "Back to the preview"]),
        ],
    )
    arabic = "كرة القدم الساعة 17:00 اليوم.\nمرحبا بالجميع."
    replies = boss.send(arabic)
    catalogs = app.conversation.services.catalogs
    ar, en, sr = (catalogs.translator(code) for code in ("ar", "en", "sr_Latn"))
    texts = {"en": "Football at 17:00 today.", "ar": arabic}
    # One message per version, then one for a language without its own (Serbian here: the
    # first of the audience's languages without a version), then the summary.
    assert replies[:3] == [
        broadcasts.notice(en, texts, en, "Krnjača"),
        broadcasts.notice(ar, texts, en, "Krnjača"),
        broadcasts.notice(sr, texts, en, "Krnjača"),
    ]
    in_arabic = replies[1]
    assert in_arabic.rtl and arabic.split("\n")[1] in in_arabic.text
    assert all(line.startswith(RLM) for line in in_arabic.text.split("\n") if line)
    fallback = replies[2]
    assert sr._("This notice was not translated into your language.") in fallback.text
    assert "Football at 17:00 today." in fallback.text and arabic not in fallback.text
    summary = texts_of(replies[3:])
    assert "Srpski: 1, not translated" in summary and "العربية: 1" in summary
    boss.tap("Send now")
    [notice] = sent(app)
    assert broadcasts.versions(notice) == texts and notice.base_locale == "en"


def test_without_versions_the_fallback_preview_is_in_the_audiences_language(
    app: App, world: World
) -> None:
    """An English notice to Arabic readers: the preview shows the note in Arabic, and the
    English lines kept left-to-right inside the right-to-left message."""
    residents(app, world.krnjaca, ["ar", "ar", "en"])
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    boss.tap("Everyone at Krnjača")
    replies = boss.send("Line one.\nLine two.")
    catalogs = app.conversation.services.catalogs
    ar = catalogs.translator("ar")
    english, fallback = replies[0], replies[1]
    assert not english.rtl and english.text.endswith("Line one.\nLine two.")
    assert fallback.rtl
    assert ar._("This notice was not translated into your language.") in fallback.text
    assert "\u200eLine one." in fallback.text and "\u200eLine two." in fallback.text


def test_markup_characters_are_kept_as_written(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en"])
    boss = staff_member(app, "boss", world.krnjaca)
    written = "*Bold?* _no_ <b>tags</b> & a<b, [link](x) `code`"
    compose(boss, written)
    assert written in boss.replies[-2].text  # the preview, exactly as written
    boss.tap("Send now")
    [notice] = sent(app)
    assert broadcasts.versions(notice) == {"en": written}


def test_empty_and_too_long_notices_are_refused_with_the_numbers(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en"])
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    boss.tap("Everyone at Krnjača")
    verify_dialog(
        boss,
        [
            Step("   ", ["The notice is empty.", WRITE], absent="Send now"),
            Step("x" * 3501, ["3501 characters", "the limit is 3500", WRITE], absent="Send now"),
            Step("y" * 5000, ["5000 characters", WRITE], absent="Send now"),
            Step("z" * 3500, ["Above: the notice", "Send now"]),
        ],
    )
    assert not sent(app)
    [draft] = drafts(app)
    assert broadcasts.versions(draft) == {"en": "z" * 3500}  # never cut


def test_written_in_another_language_than_the_bot_speaks(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en", "sr_Latn"])
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    verify_dialog(
        boss,
        [
            (("tap", "Everyone at Krnjača"), "Written in: English — change"),
            (("tap", "Written in"), "Which language is the notice written in?"),
            (("tap", "Srpski"), [WRITE, "Written in: Srpski — change"]),
            ("Sutra nema struje.", ["Sutra nema struje.", "English: 1, not translated"]),
            (("tap", "Send now"), "Sending to 2 people…"),
        ],
    )
    [notice] = sent(app)
    assert notice.base_locale == "sr_Latn" and notice.author_locale == "en"
    assert broadcasts.versions(notice) == {"sr_Latn": "Sutra nema struje."}


def test_a_version_is_replaced_and_removed(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en", "ar"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "First text.")
    boss.tap("Add a version in another language")
    boss.tap("العربية")
    boss.send("نص")
    verify_dialog(
        boss,
        [
            (("tap", "Change the texts"), ["English: 11 characters", "العربية: 2 characters"]),
            (("tap", "Replace: English"), WRITE),
            ("Second text.", "Second text."),
            (("tap", "Change the texts"), "Remove: العربية"),
            Step(("tap", "Remove: العربية"), "was removed", absent="نص"),
        ],
    )
    [draft] = drafts(app)
    assert broadcasts.versions(draft) == {"en": "Second text."}
    assert not any("Remove: English" in label for label in boss.labels())


# Any text, with markup characters, right-to-left script and line breaks, around the limit.
NOTICES = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=80),
    st.text("*_<>&`[]() \nabcم", min_size=1, max_size=40),
    st.integers(3495, 3505).map(lambda n: "x" * n),
).filter(lambda text: not text.startswith("/"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(notice=NOTICES)
def test_any_notice_is_stored_as_written_or_refused_whole(
    app: App, world: World, notice: str
) -> None:
    """Kept exactly as written (only the surrounding blanks go), or refused with a reason
    and the earlier text kept: never cut, never changed."""
    if not drafts(app):
        residents(app, world.krnjaca, ["en"])
        compose(staff_member(app, "boss", world.krnjaca), "Earlier text.")
    boss = Resident(app.conversation, "boss", "en")
    [before] = drafts(app)
    boss.tap_data(announce.WRITE.data("en"))
    answer = texts_of(boss.send(notice))
    [after] = drafts(app)
    cleaned = notice.strip()
    if cleaned and len(cleaned) <= broadcasts.MAX_CHARS:
        assert broadcasts.versions(after)["en"] == cleaned
        assert cleaned in answer and "Send now" in answer
    else:
        assert broadcasts.versions(after) == broadcasts.versions(before)
        assert ("empty" if not cleaned else f"{len(cleaned)} characters") in answer
        assert "Send now" not in answer
    assert not sent(app)


# --- later, and cancelled ---------------------------------------------------------------------


def test_a_time_in_the_past_is_refused_and_a_future_one_stored(app: App, world: World) -> None:
    people = residents(app, world.krnjaca, ["en", "en"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Meeting tomorrow evening.")
    verify_dialog(
        boss,
        [
            (("tap", "Send later"), ["When should the notice go out?", "Tomorrow"]),
            Step("2026-11-30 10:00", ["has already passed", "When should"], absent="schedule it"),
            Step("tomorrow at six", ['A time must look like "2026-12-01 10:00"']),
            (("tap", "Tomorrow"), ["at what time?", "Wed, Dec 2"]),
            Step(
                "18:00",
                [
                    "The notice will go to 2 people on Wed, Dec 2, 18:00.",
                    "time at Krnjača",
                    "Yes, schedule it",
                ],
            ),
        ],
    )
    assert not sent(app)
    verify_dialog(boss, [(("tap", "Yes, schedule it"), "Scheduled for Wed, Dec 2, 18:00.")])
    [notice] = sent(app)
    at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 18:00 in Belgrade, in winter
    assert notice.state == BroadcastState.SCHEDULED and notice.send_at == at
    assert [(e.person_id, e.due_at) for e in entries(app)] == [(p, at) for p in people]
    assert "at 2026-12-02 17:00 UTC" in audit(app, "broadcast created")[0].detail


def test_a_forged_time_in_the_past_stores_nothing(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Hello.")
    past = int((T0 - timedelta(hours=1)).timestamp()) // 60
    assert "already passed" in texts_of(boss.tap_data(announce.SCHEDULE.data(past)))
    assert not sent(app) and len(drafts(app)) == 1


def test_a_scheduled_notice_is_cancelled(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en", "ar"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Cinema night on Friday.")
    boss.tap("Send later")
    boss.send("2026-12-04 19:30")
    boss.tap("Yes, schedule it")
    verify_dialog(
        boss,
        [
            (("tap", "Announce"), "Scheduled notices"),
            (("tap", "Scheduled notices"),
             ["Scheduled notices for Krnjača:", "Fri, Dec 4, 19:30 · 2 people",
              "“Cinema night on Friday.”", "Cancel: Fri, Dec 4, 19:30"]),
            Step(("tap", "Cancel: Fri"),
                 ["The notice for Fri, Dec 4, 19:30 was cancelled.",
                  "There are no scheduled notices"]),
        ],
    )  # fmt: skip
    [notice] = sent(app)
    assert notice.state == BroadcastState.CANCELLED
    assert {entry.state for entry in entries(app)} == {LedgerState.DROPPED}
    assert len(audit(app, "broadcast cancelled")) == 1
    again = boss.tap_data(announce.CANCEL.data(notice.id))
    assert "not found, or it has started already" in texts_of(again)
    assert len(audit(app, "broadcast cancelled")) == 1


# --- twice, refused, capped ---------------------------------------------------------------------


def test_two_taps_on_send_now_send_one_notice(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en", "en"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Only once, please.")
    payload = boss.button("Send now")
    assert "Sending to 2 people" in texts_of(boss.tap_data(payload))
    second = texts_of(boss.tap_data(payload))
    assert "There is no notice in progress" in second and "Sending" not in second
    assert len(sent(app)) == 1 and len(entries(app)) == 2


def test_the_tapped_message_becomes_the_progress_message(app: App, world: World) -> None:
    """The "Sending…" reply takes the place of the message whose button was tapped; the
    sender finds that message again (sealed) to edit it as the notice goes out."""
    residents(app, world.krnjaca, ["en"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Progress, please.")
    tap = Incoming(boss.address, Choice(boss.button("Send now")), "en", message_ref="42:7")
    outcome = app.conversation.handle(tap)
    assert outcome.replies[0].replace and outcome.notify
    [notice] = sent(app)
    assert notice.progress_enc is not None and "42:7" not in notice.progress_enc
    assert json.loads(app.vault.open(notice.progress_enc)) == {"user": "boss", "message": "42:7"}


def test_two_taps_at_the_same_moment_send_one_notice(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en", "en", "ar"])
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Only once, even at once.")
    tap = Incoming(boss.address, Choice(boss.button("Send now")), "en")
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(app.conversation.handle, [tap, tap]))
    answers = [texts_of(outcome.replies) for outcome in outcomes]
    assert sum("Sending to 3 people" in answer for answer in answers) == 1
    assert sum("There is no notice in progress" in answer for answer in answers) == 1
    assert len(sent(app)) == 1 and len(entries(app)) == 3


def test_a_refusal_when_sending_keeps_the_notice(app: App, world: World) -> None:
    """The only Arabic reader left before Send now: nothing is stored, the draft stays, and
    once someone reads Arabic again it goes."""
    [reader] = residents(app, world.krnjaca, ["ar"])
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    boss.tap("People who use one language")
    boss.tap("العربية")
    boss.send("Notice for Arabic readers.")
    with app.database.session() as db:
        person = db.get(Person, reader)
        assert person is not None
        person.locale = "en"
        db.add(person)
    answer = texts_of(boss.tap("Send now"))
    assert "Nobody would receive this notice yet." in answer and "Sending" not in answer
    assert not sent(app) and len(drafts(app)) == 1
    residents(app, world.krnjaca, ["ar"], prefix="new")
    assert "Sending to 1 person…" in texts_of(boss.tap("Send now"))
    assert len(sent(app)) == 1 and not drafts(app)


@pytest.fixture
def capped(tmp_path: Path, database: Database, clock: FakeClock) -> Iterator[App]:
    """The app with a monthly cap of 2 bot-initiated Viber messages."""
    settings = make_settings(tmp_path, viber_monthly_proactive_cap=2)
    application = build_app(settings, clock=clock, channels=[], database=database)
    yield application
    application.dispatcher.close()


def test_over_the_viber_cap_it_says_so_and_offers_no_send(capped: App, clock: FakeClock) -> None:
    world = seed(capped.database, clock.now())
    quiet = T0 - timedelta(days=3)  # last wrote days ago: each message to them is billed
    residents(capped, world.krnjaca, ["en", "en"], channel="viber", seen=quiet)
    residents(capped, world.krnjaca, ["en"], channel="telegram")
    boss = staff_member(capped, "boss", world.krnjaca)
    compose(boss, "Everyone, please.")
    assert "On Viber, 2 of these messages count against this month's limit (2 left)." in (
        boss.replies[-1].text
    )
    residents(capped, world.krnjaca, ["ar"], channel="viber", seen=quiet, prefix="v")
    verify_dialog(
        boss,
        [
            Step(
                ("data", announce.PREVIEW.data()),
                [
                    "needs 3 paid Viber messages, but only 2 are left this month",
                    "Change the audience",
                ],
                absent=["Send now", "Send later"],
            ),
            Step(("data", announce.SEND_NOW.data()), "needs 3 paid Viber", absent="Sending"),
        ],
    )
    assert not sent(capped) and len(drafts(capped)) == 1
    # A smaller audience fits: one billed Viber reader of Arabic.
    verify_dialog(
        boss,
        [
            (("tap", "Change the audience"), "Who should receive it?"),
            (("tap", "People who use one language"), "Which language?"),
            (("tap", "العربية"), ["1 person will receive it.", "Send now"]),
            (("tap", "Send now"), "Sending to 1 person…"),
        ],
    )
    assert len(sent(capped)) == 1


# --- who may ------------------------------------------------------------------------------------


def test_revoked_while_composing_sends_nothing(app: App, world: World) -> None:
    residents(app, world.krnjaca, ["en"])
    boss = staff_member(app, "boss", world.krnjaca)
    boss.tap("Announce")
    boss.tap("Everyone at Krnjača")
    send_now = announce.SEND_NOW.data()
    with app.database.session() as db:
        assert q.revoke_member(db, ref_of(app, boss), T0) is not None
    before = tables(app)
    verify_dialog(
        boss,
        [
            Step("Written after the role was taken away.", NOT_ALLOWED, absent="Above"),
            Step(("data", send_now), NOT_ALLOWED, absent="Sending"),
        ],
    )
    assert not sent(app) and not entries(app)
    assert all(
        "Written after" not in broadcasts.versions(draft).get("en", "") for draft in drafts(app)
    )
    assert tables(app) == before


def every_forged_tap(world: World) -> list[str]:
    """Each announce button, with a real workshop id or a language as its arguments."""
    taps = []
    for action in announce.feature.actions:
        values = [str(world.sewing) if arg is Int else "ar" for arg in action.args]
        taps.append(action.data(*values))
        if action.optional:
            taps.append(action.data(*values[: len(values) - action.optional]))
    return taps


def test_residents_and_coordinators_forging_any_announce_button_are_not_allowed(
    app: App, world: World
) -> None:
    residents(app, world.krnjaca, ["en"])
    resident = Resident(app.conversation, "amina", "en")
    resident.send("/start krnjaca")
    resident.tap("English")
    resident.tap("I agree")
    coordinator = staff_member(app, "coord", None, role="coordinator")
    before = tables(app)
    taps = every_forged_tap(world)
    assert len(taps) >= len(announce.feature.actions)
    for person in (resident, coordinator):
        for data in taps:
            answer = texts_of(person.tap_data(data))
            assert NOT_ALLOWED in answer, (data, answer)
    assert tables(app) == before
    assert not audit(app, "broadcast created")


def test_staff_of_another_centre_cannot_reach_krnjaca(app: App, world: World) -> None:
    krnjaca = residents(app, world.krnjaca, ["en"])
    residents(app, world.obrenovac, ["en"])
    book(app, krnjaca, world.sewing, world.krnjaca)
    boss = staff_member(app, "boss", world.krnjaca)
    compose(boss, "Krnjača only.")
    boss.tap("Send later")
    boss.send("2026-12-05 10:00")
    boss.tap("Yes, schedule it")
    [theirs] = sent(app)
    other = staff_member(app, "other", world.obrenovac)
    other.tap("Announce")
    verify_dialog(
        other,
        [
            Step(
                ("tap", "People booked on one workshop"),
                "Obrenovac sewing",
                absent=["Sewing workshop", "IT basics"],
            ),
            Step(
                ("data", announce.SESSION.data(world.sewing)),
                "That workshop was not found at this centre.",
                absent=WRITE,
            ),
            Step(("data", announce.CANCEL.data(theirs.id)), "not found, or it has started"),
            Step(("data", announce.SCHEDULED.data()),
                 "There are no scheduled notices for Obrenovac.", absent="Krnjača only"),
        ],
    )  # fmt: skip
    [draft] = drafts(app)
    assert draft.centre_id == world.obrenovac and draft.session_id is None
    assert sent(app)[0].state == BroadcastState.SCHEDULED


def test_a_notice_left_for_a_day_is_gone(app: App, world: World, clock: FakeClock) -> None:
    residents(app, world.krnjaca, ["en"])
    boss = staff_member(app, "boss", world.krnjaca)
    colleague = staff_member(app, "colleague", world.krnjaca)
    boss.tap("Announce")
    boss.tap("Everyone at Krnjača")
    colleague.tap("Announce")
    clock.advance(timedelta(days=1, minutes=1))
    assert "There is no notice in progress" in texts_of(boss.send("Too late."))
    boss.tap("Announce")  # a new notice clears away every stale one, whoever began it
    [fresh] = drafts(app)
    assert fresh.author == ref_of(app, boss) and fresh.created_at == clock.now()
    assert not sent(app)
