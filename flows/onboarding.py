"""Onboarding: language, centre, the notice, agreement. Nothing is stored before "I agree".

Until then the language and centre chosen so far travel inside the button data
(``L:ar:3`` is "Arabic, centre 3"), so a person who walks away leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from flows import account, home, names
from flows.i18n import N_, Catalogs, Translator
from flows.replies import Button, Reply
from flows.router import Feature, Int, Locale, Turn
from flows.ui import make_reply
from storage import queries as q
from storage.models import Centre

feature = Feature("onboarding")

SLUG = re.compile(r"^[a-z0-9-]{1,40}$")


# --- screens ---------------------------------------------------------------------------------


FIRST_SCREEN = 6  # languages on the first screen: three rows of two fit a small phone


def first_languages(catalogs: Catalogs, first: str | None, usual: Sequence[str]) -> list[str]:
    """The languages of the first screen: the one the app reports, then the ones most people
    at the centre read (``usual``), then the usual order."""
    codes = catalogs.codes
    ordered = dict.fromkeys(code for code in (first, *usual, *codes) if code in codes)
    return list(ordered)[:FIRST_SCREEN]


def choose_language(
    catalogs: Catalogs,
    first: str | None,
    centre_id: int,
    usual: Sequence[str] = (),
    *,
    every: bool = False,
) -> Reply:
    """Asked in several languages at once: we do not know which one the person reads yet.
    The first screen offers a few; "More languages" (``every``) offers them all."""
    shown = first_languages(catalogs, first, usual)
    codes = [*shown, *(code for code in catalogs.codes if code not in shown)]
    if not every:
        codes = shown
    asked = shown[:3] if every else shown  # the prompt in a few languages on the long list
    prompts = [catalogs.translator(code)._("Please choose your language.") for code in asked]
    t = catalogs.translator(first)
    buttons = [(t.language_name(code), LANGUAGE.data(code, centre_id)) for code in codes]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if len(codes) < len(catalogs.codes):
        more = dict.fromkeys(catalogs.translator(code)._("More languages") for code in shown[:2])
        rows.append([("🌐 " + " / ".join(more), MORE.data(t.code, centre_id))])
    helps = dict.fromkeys(catalogs.translator(code)._("Help") for code in shown[:3])
    rows.append([("🆘 " + " / ".join(helps), home.HELP.data(t.code, centre_id))])
    return Reply(
        text="👋 " + "\n".join(prompts),
        buttons=tuple(tuple(Button(label, data) for label, data in row) for row in rows),
    )


def choose_centre(t: Translator, centres: Sequence[Centre], note: str | None = None) -> Reply:
    lines = [note] if note else []
    if not centres:
        lines.append(t._("No centres are set up yet. Please ask the staff at your centre."))
        return make_reply(t, lines, [[("🆘 " + t._("Help"), home.HELP.data(t.code, 0))]])
    lines.append(t._("Which centre do you live in?"))
    rows = [[(names.centre(t, centre), CENTRE.data(t.code, centre.id))] for centre in centres]
    rows.append([("🆘 " + t._("Help"), home.HELP.data(t.code, 0))])
    return make_reply(t, lines, rows)


def notice(t: Translator, centre: Centre) -> Reply:
    from flows import privacy  # privacy's screens lead back here

    lines = [
        t._("Welcome to the workshops at {centre}.", centre=names.centre(t, centre)),
        "",
        t._("Before we start, please read this:"),
        "• " + t._("This bot keeps only your language, your centre and the workshops you book."),
        "• " + t._("The bot does not keep your name, your phone number or your messages."),
        "• " + t._("You can see what the bot keeps with /mydata and delete it all with /delete."),
        "• " + t._("Workshops are free and voluntary. You can cancel at any time."),
        "• " + t._("To sign up here you must be 15 or older."),
        "",
        t._("Do you agree?"),
    ]
    rows = [
        [("✅ " + t._("I agree, I am 15 or older"), AGREE.data(t.code, centre.id))],
        [("🧒 " + t._("I am under 15"), CHILD.data(t.code, centre.id))],
        [("❌ " + t._("No, thank you"), DECLINE.data(t.code, centre.id))],
        [("🔒 " + t._("Privacy"), privacy.PRIVACY.data(t.code, centre.id)),
         ("🆘 " + t._("Help"), home.HELP.data(t.code, centre.id))],
    ]  # fmt: skip
    return make_reply(t, lines, rows, replace=True)


def too_young(t: Translator, centre_id: int) -> Reply:
    lines = [
        t._("Thank you for telling us. Nothing about you was saved."),
        t._("Please ask the staff at your centre. They can sign you up for workshops for "
            "children and young people."),
    ]  # fmt: skip
    rows = [[("🆘 " + t._("Help"), home.HELP.data(t.code, centre_id))]]
    return make_reply(t, lines, rows, replace=True)


def declined(t: Translator, centre_id: int) -> Reply:
    lines = [
        t._("That is fine. Nothing about you was saved."),
        t._("If you change your mind, send /start. Help is always here: /help"),
    ]
    rows = [[("🆘 " + t._("Help"), home.HELP.data(t.code, centre_id))]]
    return make_reply(t, lines, rows, replace=True)


# --- handlers ---------------------------------------------------------------------------------


def ask_language(turn: Turn, centre_id: int, *, every: bool = False) -> None:
    catalogs = turn.services.catalogs
    first = catalogs.match(turn.incoming.language_hint)
    usual = [code for code, _ in q.centre_locales(turn.db, centre_id)] if centre_id else []
    turn.say(choose_language(catalogs, first, centre_id, usual, every=every))


def _more_languages(turn: Turn, locale: str, centre_id: int) -> None:
    if turn.person is not None:
        home.show_menu(turn)  # an old onboarding button: they are past this
        return
    ask_language(turn, centre_id, every=True)


MORE = feature.action("LM", Locale, Int, consent=False)(_more_languages)


def start(turn: Turn, payload: str) -> None:
    """/start, perhaps with a centre's slug from its link (typed or pasted in any case), or
    with a payload a feature declared (``staff-<code>``)."""
    found = turn.router.starter(payload.strip().lower())
    if found is not None:
        handler, rest = found
        handler(turn, rest)
        return
    slug = payload.strip().lower()
    centre = q.centre_by_slug(turn.db, slug) if slug and SLUG.match(slug) else None
    person = turn.person
    if person is None:
        # A newcomer is asked their language first, even when the link was wrong: the
        # centre list that follows is then in a language they read.
        ask_language(turn, centre.id or 0 if centre else 0)
        return
    if slug and centre is None:
        note = turn.t._("I could not find that centre. Please choose it from the list.")
        account.pick_centre(turn, note=note)
        return
    if centre is not None and centre.id != person.centre_id:
        person.centre_id = centre.id
        home.show_menu(
            turn,
            "✅ " + turn.t._("Your centre is now {centre}.", centre=names.centre(turn.t, centre)),
        )
        return
    home.show_menu(turn)


def _chosen(turn: Turn, locale: str) -> Translator | None:
    if not turn.services.catalogs.supports(locale):
        return None
    turn.t = turn.services.catalogs.translator(locale)
    return turn.t


def _language(turn: Turn, locale: str, centre_id: int) -> None:
    if turn.person is not None:
        home.show_menu(turn)  # an old onboarding button: they are past this
        return
    t = _chosen(turn, locale)
    if t is None:
        home.stale(turn)
        return
    centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
    if centre is None:
        turn.say(choose_centre(t, q.list_centres(turn.db)))
    else:
        turn.say(notice(t, centre))


LANGUAGE = feature.action("L", Locale, Int, consent=False)(_language)
CENTRE = feature.action("C", Locale, Int, consent=False)(_language)


def _agree(turn: Turn, locale: str, centre_id: int) -> None:
    if turn.person is not None:
        home.show_menu(turn)  # a second tap on the notice: they already agreed
        return
    t = _chosen(turn, locale)
    centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
    if t is None or centre is None:
        home.stale(turn)
        return
    address = turn.incoming.address
    turn.person = q.create_person(
        turn.db,
        turn.services.vault,
        channel=address.channel,
        user_key=address.user_key,
        locale=t.code,
        centre_id=centre.id,
        now=turn.now,
    )
    home.show_menu(turn, note="✅ " + t._("Thank you. You can now book workshops."))


AGREE = feature.action("A", Locale, Int, consent=False)(_agree)


def _not_agreeing(screen: Callable[[Translator, int], Reply]) -> Callable[[Turn, str, int], None]:
    """A notice answered without agreeing ("No, thank you", "I am under 15"): nothing is
    stored, the screen is said in the language chosen."""

    def answer(turn: Turn, locale: str, centre_id: int) -> None:
        if turn.person is not None:
            home.show_menu(turn)  # an old notice: they agreed already
            return
        t = _chosen(turn, locale)
        if t is None:
            home.stale(turn)
            return
        turn.say(screen(t, centre_id))

    return answer


DECLINE = feature.action("N", Locale, Int, consent=False)(_not_agreeing(declined))
# Under 15: the law asks a parent's consent, which a chat cannot take; staff sign them up.
CHILD = feature.action("U", Locale, Int, consent=False)(_not_agreeing(too_young))


@feature.command("start", N_("Start again"), consent=False)
def start_command(turn: Turn) -> None:
    start(turn, "")
