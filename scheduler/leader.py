"""One scheduler leader across nodes: a PostgreSQL session-level advisory lock.

The lock lives as long as the leader's database session: if the leader process dies, PostgreSQL
releases it and a follower's next attempt (every `retry_seconds`) takes over. On SQLite there is
one process by design, and it leads.
"""
from __future__ import annotations

import logging
from typing import Any

from integration.db import Database

log = logging.getLogger(__name__)
LOCK_KEY = 0x10A17B  # "loyalty" scheduler; any constant shared by all nodes


class Leadership:
    def __init__(self, db: Database):
        self.db = db
        self._connection: Any = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def try_acquire(self) -> bool:
        if self.held:
            return self.alive()
        if self.db.is_sqlite:
            self._connection = True
            return True
        connection = self.db.engine.raw_connection()
        connection.detach()  # our own session: back in the pool, the lock would outlive leadership
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            acquired = bool(cursor.fetchone()[0])
            connection.commit()
        except Exception:  # noqa: BLE001 - the database may be restarting: try again later
            log.exception("leader election failed")
            connection.close()
            return False
        if not acquired:
            connection.close()
            return False
        self._connection = connection
        log.info("this process is the scheduler leader")
        return True

    def alive(self) -> bool:
        """Still the leader? A lost session (database restart) means the lock is gone too."""
        if self._connection is True:
            return True
        try:
            cursor = self._connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            self._connection.commit()
            return True
        except Exception:  # noqa: BLE001
            log.warning("lost the scheduler leadership (database session gone)")
            self.release()
            return False

    def release(self) -> None:
        if self._connection not in (None, True):
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001
                pass
        self._connection = None
