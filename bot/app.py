"""The composition root: everything is built here from settings, nothing at import time.

Tests build the same application with a test database, a fake clock and their own channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field

from bot.billing import ViberBilling
from bot.channels.base import Channel
from bot.channels.telegram import Parsed, TelegramChannel
from bot.channels.viber import ViberChannel
from bot.dispatch import Dispatcher
from bot.keys import data_secret
from bot.notify import NotificationPump
from bot.outbox import Outbox
from bot.scheduler import ReminderSender, Scheduler
from bot.settings import Settings, parse_duration
from bot.web import WebServer, create_web_app
from flows.clock import Clock, SystemClock
from flows.conversation import Conversation
from flows.events import Address
from flows.i18n import Catalogs
from flows.notifications import Notifier
from flows.reminders import ReminderPlan, Reminders
from flows.screens import commands
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """A problem an operator must fix; reported as one line, without a traceback."""


@dataclass
class App:
    settings: Settings
    database: Database
    vault: Vault
    catalogs: Catalogs
    clock: Clock
    conversation: Conversation
    notifier: Notifier
    outbox: Outbox
    dispatcher: Dispatcher
    pump: NotificationPump
    reminders: Reminders
    scheduler: Scheduler
    channels: dict[str, Channel] = field(default_factory=dict)

    @property
    def telegram(self) -> TelegramChannel | None:
        channel = self.channels.get("telegram")
        return channel if isinstance(channel, TelegramChannel) else None

    async def on_telegram_update(self, parsed: Parsed) -> None:
        self.dispatcher.submit(parsed.incoming, edit=parsed.message_ref)

    async def settle(self) -> None:
        """Wait until every update received so far is handled and its replies are sent."""
        await self.dispatcher.join()
        await self.outbox.join()
        await self.pump.run_once()
        await self.outbox.join()
        await self.pump.idle()

    @property
    def viber(self) -> ViberChannel | None:
        channel = self.channels.get("viber")
        return channel if isinstance(channel, ViberChannel) else None

    @property
    def telegram_secret(self) -> str | None:
        """The secret Telegram sends with each webhook call (derived if not configured)."""
        if self.settings.telegram_webhook_secret is not None:
            return self.settings.telegram_webhook_secret.get_secret_value()
        return self.vault.derived_token("telegram-webhook")

    def channel_modes(self) -> dict[str, str]:
        """How each channel receives updates (for /healthz; no secrets)."""
        modes = {}
        if self.telegram is not None:
            modes["telegram"] = "webhook" if self.settings.public_url else "polling"
        if self.viber is not None:
            modes["viber"] = "webhook"
        return modes

    async def run(self, *, scheduler: bool = True, receive: bool = True) -> None:
        """Run every configured channel until cancelled: the web server for webhooks (Viber,
        and Telegram when PUBLIC_URL is set), long polling for Telegram otherwise.

        ``scheduler`` runs the reminders and notifications here (exactly one process should);
        ``receive=False`` runs only that (``workshopbot scheduler``)."""
        settings = self.settings
        if not self.channels:
            raise StartupError(
                "no channel is configured: set TELEGRAM_BOT_TOKEN or VIBER_AUTH_TOKEN"
            )
        if self.viber is not None and not settings.public_url:
            raise StartupError("Viber needs PUBLIC_URL: the https address Viber calls")
        telegram = self.telegram
        tasks: list[asyncio.Task[None]] = []
        server: WebServer | None = None
        try:
            if telegram is not None:
                await telegram.start()
            if telegram is not None and receive:
                await telegram.set_commands(
                    {code: commands(self.catalogs.translator(code)) for code in self.catalogs.codes}
                )
            if settings.webhooks and receive:
                server = WebServer(create_web_app(self), settings.web_host, settings.web_port)
                tasks.append(asyncio.create_task(server.serve()))
                await server.started()
                await self._register_webhooks()
            if telegram is not None and not settings.public_url and receive:
                tasks.append(asyncio.create_task(telegram.poll(self.on_telegram_update)))
            if scheduler:
                self.scheduler.start()
            tasks.append(asyncio.create_task(_forever()))
            # Everything built so far lives as long as the process: keep the collector from
            # walking it again and again (a full collection of it pauses the loop ~60 ms).
            gc.collect()
            gc.freeze()
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a channel that stopped by itself stops the bot, loudly
        finally:
            if server is not None:
                await server.stop()  # closes its socket and open connections in order
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.aclose()

    async def _register_webhooks(self) -> None:
        public = self.settings.public_url
        assert public is not None or self.viber is None
        if self.viber is not None and public is not None:
            await self.viber.set_webhook(f"{public}/viber")
            log.info("viber: webhook set to %s/viber", public)
        telegram = self.telegram
        if telegram is not None and public is not None:
            secret = self.telegram_secret
            assert secret is not None
            await telegram.set_webhook(f"{public}/telegram", secret)
            log.info("telegram: webhook set to %s/telegram", public)

    async def aclose(self) -> None:
        await self.scheduler.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.dispatcher.join(), 5)
            await asyncio.wait_for(self.outbox.join(), 5)
        await self.outbox.close()
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
        self.dispatcher.close()
        self.database.dispose()


async def _forever() -> None:
    await asyncio.Event().wait()


def open_database(settings: Settings, *, upgrade: bool | None = None) -> Database:
    """The configured database, migrated if it is the embedded one (or when asked)."""
    database = Database(settings.database)
    if not database.ping():
        raise StartupError(f"cannot connect to the database ({_safe_url(database.url)})")
    if upgrade if upgrade is not None else settings.embedded:
        migrate.upgrade(database)
    elif not migrate.is_current(database):
        raise StartupError("the database schema is not up to date: run `workshopbot db upgrade`")
    return database


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: list[Channel] | None = None,
    database: Database | None = None,
) -> App:
    clock = clock or SystemClock()
    database = database or open_database(settings)
    try:
        vault = Vault(data_secret(settings))
        catalogs = Catalogs.load(settings.locales_dir)
    except Exception as error:
        raise StartupError(str(error)) from error
    _check_key(database, vault)
    chosen: dict[str, Channel] = {channel.name: channel for channel in channels or []}
    if channels is None and settings.telegram_bot_token is not None:
        chosen["telegram"] = TelegramChannel(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_api_url,
            rate_limit=settings.telegram_rate_limit,
            poll_timeout=settings.telegram_poll_timeout,
        )
    if channels is None and settings.viber_auth_token is not None:
        chosen["viber"] = ViberChannel(
            settings.viber_auth_token.get_secret_value(),
            settings.viber_api_url,
            bot_name=settings.viber_bot_name,
            avatar_url=settings.viber_avatar_url,
            rate_limit=settings.viber_rate_limit,
            billing=ViberBilling(database, clock, settings.viber_monthly_proactive_cap),
        )
    conversation = Conversation(database, vault, catalogs, clock)
    notifier = Notifier(database, vault, catalogs, clock)

    async def on_unreachable(address: Address) -> None:
        def mark() -> None:
            with database.session() as db:
                q.set_reachable(db, vault, address.channel, address.user_key, reachable=False)

        await asyncio.to_thread(mark)

    outbox = Outbox(
        chosen,
        chat_rate=settings.chat_rate_limit,
        chat_burst=settings.chat_burst,
        on_unreachable=on_unreachable,
    )
    pump = NotificationPump(notifier, outbox, interval=settings.notify_interval)
    reminders = Reminders(
        database,
        vault,
        catalogs,
        clock,
        ReminderPlan(
            offsets=settings.offsets,
            feedback_delay=parse_duration(settings.feedback_delay),
            lease=parse_duration(settings.reminder_lease),
        ),
    )
    scheduler = Scheduler(
        ReminderSender(reminders, outbox), pump, sweep_seconds=settings.reminder_sweep_seconds
    )
    dispatcher = Dispatcher(
        conversation, outbox, on_notify=pump.kick, threads=settings.flow_threads
    )
    return App(
        settings=settings,
        database=database,
        vault=vault,
        catalogs=catalogs,
        clock=clock,
        conversation=conversation,
        notifier=notifier,
        outbox=outbox,
        dispatcher=dispatcher,
        pump=pump,
        reminders=reminders,
        scheduler=scheduler,
        channels=chosen,
    )


def _check_key(database: Database, vault: Vault) -> None:
    """Refuse to start with a data key that cannot open what is stored."""
    from sqlmodel import select

    from storage.identity import KeyError_
    from storage.models import Person

    with database.session() as db:
        person = db.exec(select(Person).limit(1)).first()
    if person is None:
        return
    try:
        vault.open(person.address_enc)
    except KeyError_:
        raise StartupError(
            "DATA_KEY does not match the key this database was written with"
        ) from None
