"""Named queries: the only place that knows how rows are read and changed.

Flows call these with a session from :meth:`storage.db.Database.session`; they never build
SQL. One module per thing held; every name is also available here (``q.book(...)``).
"""

from storage.queries.announcements import *  # noqa: F403
from storage.queries.bookings import *  # noqa: F403
from storage.queries.broadcasts import *  # noqa: F403
from storage.queries.centres import *  # noqa: F403
from storage.queries.deliveries import *  # noqa: F403
from storage.queries.feedback import *  # noqa: F403
from storage.queries.languages import *  # noqa: F403
from storage.queries.ledger import *  # noqa: F403
from storage.queries.people import *  # noqa: F403
from storage.queries.profiles import *  # noqa: F403
from storage.queries.reports import *  # noqa: F403
from storage.queries.retention import *  # noqa: F403
from storage.queries.sessions import *  # noqa: F403
from storage.queries.staff import *  # noqa: F403
from storage.queries.staffing import *  # noqa: F403
from storage.queries.usage import *  # noqa: F403
