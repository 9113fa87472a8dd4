"""On a schedule: publishes the outbox events that a crash between commit and publish left behind."""

import logging

from cloudpatterns import outbox
from cloudpatterns.db import database

log = logging.getLogger(__name__)


def handler(event, context):
    published = outbox.relay(database, context=context)
    if published:
        log.warning("relayed %d event(s) left in the outbox", published)
    return {"relayed": published}
