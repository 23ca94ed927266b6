"""The links that open the bot with a payload: a centre's slug for residents, ``staff-<code>``
for an invitation. Telegram's is ``https://t.me/<bot>?start=<payload>``; Viber's is
``viber://pa?chatURI=<uri>&context=<payload>``. Either is missing when the bot is not known
on that platform (no username remembered yet, no ``VIBER_CHAT_URI``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Links:
    telegram_username: str | None = None
    viber_uri: str | None = None

    def telegram(self, payload: str) -> str | None:
        if not self.telegram_username:
            return None
        return f"https://t.me/{self.telegram_username}?start={quote(payload)}"

    def viber(self, payload: str) -> str | None:
        if not self.viber_uri:
            return None
        return f"viber://pa?chatURI={quote(self.viber_uri)}&context={quote(payload)}"

    def all(self, payload: str) -> list[tuple[str, str]]:
        """(platform name, link) for each platform the bot is on."""
        found = [("Telegram", self.telegram(payload)), ("Viber", self.viber(payload))]
        return [(name, link) for name, link in found if link]
