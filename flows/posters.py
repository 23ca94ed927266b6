"""The poster for a centre's wall, sent to staff in the chat as a document.

The flow only decides who may have it and says which document it is (``Document("poster",
<centre slug>, ...)``); the bot renders the PDF when it sends the reply (``bot.documents``),
so nothing large passes through the conversation or the database.
"""

from __future__ import annotations

import dataclasses

from flows import home, staff
from flows.i18n import N_
from flows.replies import Document
from flows.router import Feature, Turn
from flows.ui import back, make_reply
from storage.models import Role

feature = Feature("posters")

KIND = "poster"
WRITERS = (str(Role.STAFF), str(Role.ADMIN))


def filename(slug: str) -> str:
    return f"poster-{slug}.pdf"


def _poster(turn: Turn) -> None:
    member = staff.require(turn)
    if member is None:
        return
    t = turn.t
    centre = staff.centre_of(turn)
    if centre is None or centre.id is None:  # an admin who has not chosen a centre yet
        home.show_menu(turn, note="ℹ️ " + t._("Please choose a centre first."))
        return
    if not turn.services.links(turn.db).all(centre.slug):
        note = t._("The poster cannot be made yet: the bot's links are not known.")
        home.show_menu(turn, note="⚠️ " + note)
        return
    staff.audit(turn, member, "poster", centre.id)
    lines = [
        "🖼 " + t._("The poster for {centre}.", centre=centre.name),
        t._("Print it and put it up where residents will see it."),
        t._("Residents scan a code with their phone to sign up."),
    ]
    rows = [[(back(t) + " " + t._("Staff tools"), home.MENU.data())]]
    reply = make_reply(t, lines, rows)
    document = Document(KIND, centre.slug, filename(centre.slug))
    turn.show(home.MENU_STATE, dataclasses.replace(reply, document=document))


POSTER = feature.action("PO")(_poster)
# Coordinators only read: the poster is for those who run a centre.
feature.menu_entry(60, "🖼", N_("Poster"), POSTER, row=6, menu="staff", roles=WRITERS)
