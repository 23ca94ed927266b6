"""The composition root: everything is built here from settings, nothing at import time.

Tests build the same application with a test database, a fake clock and their own channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.billing import ViberBilling
from bot.broadcaster import Broadcaster
from bot.channels.base import Channel, Webhooks
from bot.channels.telegram import Parsed, TelegramChannel
from bot.channels.viber import ViberChannel
from bot.dispatch import Dispatcher
from bot.documents import Documents, FileLinks, Reports, SendsDocuments
from bot.keys import data_secret
from bot.outbox import Outbox
from bot.scheduler import LedgerSender, Scheduler
from bot.settings import Settings, parse_duration
from bot.startup import StartupError, make_clock, open_database
from bot.web import WebServer, create_web_app
from flows import retention
from flows.clock import Clock
from flows.conversation import Conversation, decode_replies
from flows.distress import Distress
from flows.events import Address, Incoming, Start
from flows.features import build_router
from flows.helplines import Helplines
from flows.i18n import Catalogs
from flows.ledger import Ledger, LedgerPlan
from flows.questionnaire import Questionnaires
from flows.replies import Outcome
from flows.router import Router, Services
from storage import queries as q
from storage.db import Database
from storage.identity import Vault

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    database: Database
    vault: Vault
    catalogs: Catalogs
    clock: Clock
    router: Router
    conversation: Conversation
    outbox: Outbox
    dispatcher: Dispatcher
    ledger: Ledger
    sender: LedgerSender
    scheduler: Scheduler
    broadcaster: Broadcaster
    channels: dict[str, Channel] = field(default_factory=dict)

    @property
    def telegram(self) -> TelegramChannel | None:
        channel = self.channels.get("telegram")
        return channel if isinstance(channel, TelegramChannel) else None

    def on_telegram_update(self, parsed: Parsed) -> asyncio.Task[Outcome]:
        """A polled update: deduplicated by its update_id, its replies kept until sent."""
        incoming = dataclasses.replace(
            parsed.incoming, delivery=str(parsed.update_id), keep_replies=True
        )
        return self.dispatcher.submit(incoming, edit=parsed.message_ref)

    async def resend_owed(self, channel: str) -> int:
        """Send again the replies a previous process handled but died before sending."""
        vault = self.vault

        def load() -> list[q.OwedReplies]:
            with self.database.session() as db:
                return q.owed_replies(db, channel)

        owed = await asyncio.to_thread(load)
        for item in owed:
            address = Address(channel, vault.open(item.address_enc))
            incoming = Incoming(address, Start(), delivery=item.key, keep_replies=True)
            self.dispatcher.send(incoming, Outcome(replies=decode_replies(item.replies)))
        if owed:
            log.info("%s: %d answers owed from before a restart sent again", channel, len(owed))
        return len(owed)

    async def replied(self, incoming: Incoming) -> None:
        """The kept replies of a delivery are sent: stop owing them."""
        delivery = incoming.delivery
        if delivery is None:
            return

        def clear() -> None:
            with self.database.session() as db:
                q.replies_sent(db, incoming.address.channel, delivery)

        await asyncio.to_thread(clear)

    async def settle(self) -> None:
        """Wait until every update received so far is handled and its replies are sent."""
        await self.dispatcher.join()
        await self.outbox.join()
        await self.sender.sweep(due=False, wait=True)  # what those updates left owed
        await self.outbox.join()
        await self.sender.idle()

    @property
    def viber(self) -> ViberChannel | None:
        channel = self.channels.get("viber")
        return channel if isinstance(channel, ViberChannel) else None

    async def health(self) -> dict[str, object]:
        """What /healthz answers: the database reachable, how each channel receives; no secrets."""
        database = await asyncio.to_thread(self.database.ping)
        return {
            "status": "ok" if database else "unavailable",
            "database": database,
            "channels": self.channel_modes(),
        }

    def channel_modes(self) -> dict[str, str]:
        """How each channel receives updates (for /healthz; no secrets)."""
        modes = {}
        if self.telegram is not None:
            modes["telegram"] = "webhook" if self.settings.public_url else "polling"
        if self.viber is not None:
            modes["viber"] = "webhook"
        return modes

    def remember_username(self, channel: str, username: str) -> None:
        """Keep the bot's username for the links `workshopbot centre add` prints."""
        with self.database.session() as db:
            q.remember_username(db, channel, username, self.clock.now())

    async def run(
        self,
        *,
        scheduler: bool = True,
        receive: bool = True,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        """Run every configured channel until cancelled: the web server for webhooks (Viber,
        and Telegram when PUBLIC_URL is set), long polling for Telegram otherwise.

        ``scheduler`` runs the reminders and notifications here (exactly one process should);
        ``receive=False`` runs only that (``workshopbot scheduler``). ``on_started`` is called
        once everything has started (the entry point freezes the collector there)."""
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
                await asyncio.to_thread(self.remember_username, "telegram", telegram.bot.username)
            if telegram is not None and receive:
                await telegram.set_commands(
                    {
                        code: self.router.command_menu(self.catalogs.translator(code))
                        for code in self.catalogs.codes
                    }
                )
            if settings.webhooks and receive:
                hooks = [c for c in self.channels.values() if isinstance(c, Webhooks)]
                routes = [route for hook in hooks for route in hook.routes(self.dispatcher)]
                web = create_web_app(routes, self.health)
                server = WebServer(web, settings.web_host, settings.web_port)
                tasks.append(asyncio.create_task(server.serve()))
                await server.started()
                if settings.public_url is not None:
                    for hook in hooks:  # the platforms check the address as they take it
                        await hook.register_webhook(settings.public_url)
            if telegram is not None and not settings.public_url and receive:
                await self.resend_owed(telegram.name)
                tasks.append(asyncio.create_task(telegram.poll(self.on_telegram_update)))
            if scheduler:
                self.scheduler.start()
            tasks.append(asyncio.create_task(_forever()))
            if on_started is not None:
                on_started()
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


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: list[Channel] | None = None,
    database: Database | None = None,
) -> App:
    clock = clock or make_clock()
    try:  # the key first: nothing may touch (or migrate) the database without a usable one
        vault = Vault(data_secret(settings))
        catalogs = Catalogs.load(settings.locales_dir)
        questionnaires = Questionnaires.load(settings.questionnaire_dir)
        helplines = Helplines.load(settings.help_file)
        distress = Distress.load(settings.distress_file)
    except Exception as error:
        raise StartupError(str(error)) from error
    database = database or open_database(settings)
    check_key(database, vault)
    router = build_router()
    chosen: dict[str, Channel] = {channel.name: channel for channel in channels or []}
    if channels is None and settings.telegram_bot_token is not None:
        chosen["telegram"] = TelegramChannel(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_api_url,
            rate_limit=settings.telegram_rate_limit,
            poll_timeout=settings.telegram_poll_timeout,
            webhook_secret=telegram_secret(settings, vault) if settings.public_url else None,
        )
    if channels is None and settings.viber_auth_token is not None:
        chosen["viber"] = ViberChannel(
            settings.viber_auth_token.get_secret_value(),
            settings.viber_api_url,
            bot_name=settings.viber_bot_name,
            avatar_url=settings.viber_avatar_url,
            rate_limit=settings.viber_rate_limit,
            billing=ViberBilling(database, clock, settings.viber_monthly_proactive_cap),
            is_button=router.is_button_data,
        )
    documents = give_documents(
        settings, database, catalogs, vault, clock, chosen.values(), questionnaires
    )
    services = Services(
        vault,
        catalogs,
        clock,
        default_zone=settings.timezone,
        viber_uri=settings.viber_chat_uri,
        viber_cap=settings.viber_monthly_proactive_cap,
        questionnaires=questionnaires,
        feedback_min_group=settings.feedback_min_group,
        helplines=helplines,
        distress=distress,
        retention_days=settings.retention_days,
    )
    conversation = Conversation(database, services, router)

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
    ledger = Ledger(
        database,
        vault,
        catalogs,
        clock,
        LedgerPlan(
            offsets=settings.offsets,
            feedback_delay=parse_duration(settings.feedback_delay),
            lease=parse_duration(settings.reminder_lease),
            default_zone=settings.timezone,
        ),
    )
    sender = LedgerSender(ledger, outbox)
    broadcaster = Broadcaster(
        database, vault, catalogs, clock, outbox, lease=parse_duration(settings.reminder_lease)
    )
    scheduler = Scheduler(
        sender,
        broadcaster=broadcaster,
        sweep_seconds=settings.reminder_sweep_seconds,
        notify_interval=settings.notify_interval,
        retention=retention.Policy(days=settings.retention_days),
    )
    dispatcher = Dispatcher(
        conversation,
        outbox,
        on_notify=scheduler.kick,
        threads=settings.flow_threads,
        documents=documents,
    )
    app = App(
        settings=settings,
        database=database,
        vault=vault,
        catalogs=catalogs,
        clock=clock,
        router=router,
        conversation=conversation,
        outbox=outbox,
        dispatcher=dispatcher,
        ledger=ledger,
        sender=sender,
        scheduler=scheduler,
        broadcaster=broadcaster,
        channels=chosen,
    )
    dispatcher.on_replied = app.replied  # kept replies (long polling) stop being owed
    return app


def give_documents(
    settings: Settings,
    database: Database,
    catalogs: Catalogs,
    vault: Vault,
    clock: Clock,
    channels: Iterable[Channel],
    questionnaires: Questionnaires | None = None,
) -> Documents:
    """The documents replies name (the poster, exports, the /stats chart), for every channel
    that sends them; Viber, which fetches files by URL, serves them at signed links under
    PUBLIC_URL."""
    reports = Reports(
        questionnaires or Questionnaires.load(settings.questionnaire_dir),
        settings.feedback_min_group,
        clock,
        settings.timezone,
    )
    documents = Documents(
        database,
        catalogs,
        viber_uri=settings.viber_chat_uri,
        font=settings.poster_font,
        folder=settings.data_dir / "documents",
        reports=reports,
    )
    for channel in channels:
        if isinstance(channel, SendsDocuments) and channel.documents is None:
            channel.documents = documents
        if isinstance(channel, ViberChannel) and channel.files is None and settings.public_url:
            channel.files = FileLinks(vault.derived_token("files"), settings.public_url, clock)
    return documents


def telegram_secret(settings: Settings, vault: Vault) -> str:
    """The secret Telegram sends with each webhook call (derived from the data key if not set)."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    return vault.derived_token("telegram-webhook")


def check_key(database: Database, vault: Vault) -> None:
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
