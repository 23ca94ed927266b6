"""Account: the person's language and centre, changed at any time from the menu."""

from __future__ import annotations

from flows import home, names
from flows.i18n import N_, WESTERN, translator_key
from flows.router import Feature, Int, Locale, Turn
from flows.ui import make_reply
from storage import queries as q

feature = Feature("account")

PICK_LANGUAGE_STATE = "pick_language"
PICK_CENTRE_STATE = "pick_centre"


def pick_language(turn: Turn) -> None:
    t = turn.t
    catalogs = turn.services.catalogs
    buttons = [(t.language_name(code), SET_LANGUAGE.data(code)) for code in catalogs.codes]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    lines = [t._("Please choose your language.")]
    if t.native_digits:
        # Digits speak for themselves: "١٢٣ → 123" needs no words in any language.
        western = t.numbering == WESTERN
        native = catalogs.translator(t.code)
        shown = [native.digits("123"), "123"]
        label = " → ".join(reversed(shown) if western else shown)
        rows.append([("🔢 " + label, DIGITS.data(0 if western else 1))])
    rows.append(home.back_row(t))
    turn.show(PICK_LANGUAGE_STATE, make_reply(t, lines, rows, replace=True))


def pick_centre(turn: Turn, note: str | None = None) -> None:
    t = turn.t
    centres = q.list_centres(turn.db)
    lines = [note] if note else []
    lines.append(t._("Which centre do you live in?"))
    rows = [[(names.centre(t, centre), SET_CENTRE.data(centre.id))] for centre in centres]
    rows.append(home.back_row(t))
    turn.show(PICK_CENTRE_STATE, make_reply(t, lines, rows, replace=True))


PICK_LANGUAGE = feature.action("LL")(pick_language)
PICK_CENTRE = feature.action("CC")(pick_centre)


def _set_language(turn: Turn, locale: str) -> None:
    person = turn.person
    assert person is not None
    if not turn.services.catalogs.supports(locale):
        home.stale(turn)
        return
    person.locale = locale
    turn.t = turn.services.catalogs.translator(translator_key(locale, person.digits))
    home.show_menu(turn, note="✅ " + turn.t._("Language changed."))


def _set_digits(turn: Turn, western: int) -> None:
    """Western digits (123) or the language's own (١٢٣, ۱۲۳)."""
    person = turn.person
    assert person is not None
    person.digits = WESTERN if western else None
    turn.t = turn.services.catalogs.translator(translator_key(person.locale, person.digits))
    example = turn.t.number(1234567)
    home.show_menu(
        turn, note="✅ " + turn.t._("Numbers are now written like this: {example}", example=example)
    )


def _set_centre(turn: Turn, centre_id: int) -> None:
    person = turn.person
    assert person is not None
    centre = q.centre_by_id(turn.db, centre_id)
    if centre is None:
        home.stale(turn)
        return
    person.centre_id = centre.id
    home.show_menu(
        turn,
        note="✅ " + turn.t._("Your centre is now {centre}.", centre=names.centre(turn.t, centre)),
    )


SET_LANGUAGE = feature.action("SL", Locale)(_set_language)
SET_CENTRE = feature.action("SC", Int)(_set_centre)
DIGITS = feature.action("DG", Int)(_set_digits)


@feature.command("language", N_("Change language"))
def language_command(turn: Turn) -> None:
    pick_language(turn)


@feature.command("centre", N_("Change centre"), listed=False)
def centre_command(turn: Turn) -> None:
    pick_centre(turn)


feature.menu_entry(31, "🌐", N_("Language"), PICK_LANGUAGE, row=3)
feature.menu_entry(40, "🏠", N_("Change centre"), PICK_CENTRE, row=4)
