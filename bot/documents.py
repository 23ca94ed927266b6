"""Documents the bot sends with a reply (the centre's poster), rendered when they are sent.

The flows only name a document (:class:`flows.replies.Document`); :class:`Documents` renders
it from the database and keeps the result a few minutes, so a staff member who taps twice
or a platform that fetches the file right after the message costs one rendering.

Telegram takes the file as an upload. Viber does not: its ``file`` message carries a URL
that Viber's servers fetch. :class:`FileLinks` makes that URL: ``/files/<token>`` under
PUBLIC_URL, where the token names the document and an expiry one hour ahead, signed with a
key derived from the data key (HMAC, compared in constant time). Anything else is 404.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import exports
from flows.clock import Clock
from flows.i18n import Catalogs
from flows.links import Links
from flows.questionnaire import Questionnaires
from flows.replies import Document
from storage import queries as q
from storage.db import Database

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
MAKING_STRIPES = 16  # locks for documents being made, chosen by the document's hash
LINK_LIFETIME = timedelta(hours=1)
_NAME = re.compile(r"^[a-z0-9_-]{1,100}$")
Progress = Callable[[float], None]  # how much of a document is made, 0 to 1


class File(NamedTuple):
    filename: str
    data: bytes
    mime: str


class DocumentError(RuntimeError):
    """A document that cannot be made (an unknown kind, a centre gone, no font...)."""


class Documents:
    """Renders the documents replies name; thread-safe; results kept :data:`CACHE_SECONDS`
    (so that Viber, which fetches a file by its link after the message went, gets the one
    just made). A document being made holds back only another request for the same one:
    a coordinator's minute-long export does not stop a poster or a chart meanwhile. What
    has expired is forgotten whenever something new is kept (an export can be 30 MB)."""

    def __init__(
        self,
        database: Database,
        catalogs: Catalogs,
        *,
        viber_uri: str | None,
        font: Path | None,
        folder: Path,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        reports: Reports | None = None,
    ) -> None:
        self.database = database
        self.catalogs = catalogs
        self.reports = reports  # what exports and the /stats chart need
        self.viber_uri = viber_uri
        self.font = font
        self.folder = folder  # where a channel without uploads (the terminal) saves them
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[float, File]] = {}
        self._lock = threading.Lock()  # guards the cache and the count
        # The same document is made once at a time; others hash to other stripes (mostly).
        self._making = [threading.Lock() for _ in range(MAKING_STRIPES)]
        self.renders = 0  # how many documents were rendered (the rest came from the cache)

    async def get(self, document: Document, progress: Progress | None = None) -> File:
        """The file, rendered in a worker thread (a page takes a second of CPU)."""
        return await asyncio.to_thread(self.render, document, progress)

    def render(self, document: Document, progress: Progress | None = None) -> File:
        key = (document.kind, document.key)
        with self._making[hash(key) % MAKING_STRIPES]:
            file = self._kept(key)
            if file is None:
                file = self._render(document, progress)
                with self._lock:
                    self.renders += 1
                    now = self._monotonic()
                    for old in [k for k, (until, _) in self._cache.items() if until <= now]:
                        del self._cache[old]
                    self._cache[key] = (now + self.cache_seconds, file)
        if document.filename and document.filename != file.filename:
            return file._replace(filename=document.filename)
        return file

    def _kept(self, key: tuple[str, str]) -> File | None:
        with self._lock:
            kept = self._cache.get(key)
            return kept[1] if kept is not None and kept[0] > self._monotonic() else None

    def kept(self) -> int:
        """How many documents are kept now (expired ones included until the next is kept)."""
        with self._lock:
            return len(self._cache)

    def _render(self, document: Document, progress: Progress | None = None) -> File:
        if document.kind in (exports.KIND, exports.CHART):
            return self._report(document, progress)
        if document.kind != "poster":
            raise DocumentError(f"unknown kind of document {document.kind!r}")
        from bot import poster  # Pillow and segno load when the first poster is made

        try:
            fonts = poster.Fonts.find(self.font)
            with self.database.session() as db:
                centre = q.centre_by_slug(db, document.key)
                if centre is None:
                    raise DocumentError(f"no centre {document.key!r}")
                links = Links(q.remembered_username(db, "telegram"), self.viber_uri)
                content = poster.centre_poster(
                    db, centre, links=links, catalogs=self.catalogs, fonts=fonts
                )
            data = poster.encode(poster.render(content, fonts), "pdf")
        except (poster.PosterError, OSError, ValueError) as error:  # a font Pillow cannot read
            raise DocumentError(str(error)) from error
        return File(f"poster-{document.key}.pdf", data, "application/pdf")

    def _report(self, document: Document, progress: Progress | None) -> File:
        """An export (CSV or Excel) or the /stats chart; the flow that named it checked who
        may have it."""
        if self.reports is None:
            raise DocumentError("exports are not set up here")
        reports = self.reports
        try:
            export = exports.Export.from_key(document.key, self.catalogs)
        except exports.ExportError as error:
            raise DocumentError(str(error)) from error
        now = reports.clock.now()

        def rows_done(done: int, expected: int | None) -> None:
            if progress is not None and expected:
                progress(min(1.0, done / expected))

        try:
            with self.database.session() as db:
                if export.what == exports.CHART:
                    data = exports.chart(db, export, catalogs=self.catalogs, now=now,
                                         font=self.font)  # fmt: skip
                else:
                    buffer = io.BytesIO()
                    exports.write(
                        db, export, buffer, catalogs=self.catalogs,
                        questionnaires=reports.questionnaires, min_group=reports.min_group,
                        now=now, today=now.astimezone(ZoneInfo(reports.zone)).date(),
                        progress=rows_done,
                    )  # fmt: skip
                    data = buffer.getvalue()
        except (exports.ExportError, ValueError, OSError) as error:
            raise DocumentError(str(error)) from error
        return File(export.filename(), data, exports.MIME[export.fmt])


@dataclass(frozen=True)
class Reports:
    """What exports and charts need besides the database."""

    questionnaires: Questionnaires
    min_group: int
    clock: Clock
    zone: str  # the default time zone (today's date for "never the current week")


@runtime_checkable
class SendsDocuments(Protocol):
    """A channel that sends documents once it is given the service (``build_app`` does)."""

    documents: Documents | None


class FileLinks:
    """Short-lived signed addresses of documents, for platforms that fetch files by URL."""

    def __init__(
        self,
        secret: str,
        public_url: str,
        clock: Clock,
        lifetime: timedelta = LINK_LIFETIME,
    ) -> None:
        self._key = secret.encode()
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.lifetime = lifetime

    def _signature(self, kind: str, key: str, expires: int) -> str:
        message = f"{kind}\x00{key}\x00{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode("ascii")

    def token(self, document: Document) -> str:
        if not (_NAME.match(document.kind) and _NAME.match(document.key)):
            raise DocumentError(f"cannot link to {document.kind!r} {document.key!r}")
        expires = int((self.clock.now() + self.lifetime).timestamp())
        signature = self._signature(document.kind, document.key, expires)
        return f"{document.kind}.{document.key}.{expires}.{signature}"

    def url(self, document: Document) -> str:
        return f"{self.public_url}/files/{self.token(document)}"

    def open(self, token: str) -> Document | None:
        """The document a token names, if its signature is ours and it has not expired."""
        parts = token.split(".")
        if len(parts) != 4 or len(token) > 200:
            return None
        kind, key, expires, signature = parts
        if not (_NAME.match(kind) and _NAME.match(key) and expires.isdigit()):
            return None
        expected = self._signature(kind, key, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return None
        if int(expires) <= self.clock.now().timestamp():
            return None
        return Document(kind, key, "")


def file_route(documents: Documents, links: FileLinks) -> Route:
    """``GET /files/<token>``: the document a valid token names; 404 for anything else."""

    async def serve(request: Request) -> Response:
        document = links.open(str(request.path_params["token"]))
        if document is None:
            return Response(status_code=404)
        try:
            file = await documents.get(document)
        except DocumentError as error:
            log.warning("files: %s", error)
            return Response(status_code=404)
        headers = {
            "content-disposition": f'attachment; filename="{file.filename}"',
            "cache-control": "private, max-age=600",
        }
        return Response(file.data, media_type=file.mime, headers=headers)

    return Route("/files/{token}", serve, methods=["GET"])
