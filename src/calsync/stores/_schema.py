"""The store schema and its statements, shared by the SQLite and SQLAlchemy stores.

Statements use named ``:parameters``, which both sqlite3 and SQLAlchemy's
``text()`` accept, and SQL that SQLite and PostgreSQL both run. Each
migration moves the schema one version up; a store refuses a database whose
version is newer than it knows. The mapping store and the token store share
the schema (and its version), so they can live in one database.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQL"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # version 1
    (
        """CREATE TABLE IF NOT EXISTS calsync_meta (
            name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS calsync_links (
            pair VARCHAR(255) NOT NULL, link_key VARCHAR(64) NOT NULL,
            left_id VARCHAR(512), right_id VARCHAR(512), data TEXT NOT NULL,
            PRIMARY KEY (pair, link_key))""",
        "CREATE INDEX IF NOT EXISTS calsync_links_left ON calsync_links (pair, left_id)",
        "CREATE INDEX IF NOT EXISTS calsync_links_right ON calsync_links (pair, right_id)",
        """CREATE TABLE IF NOT EXISTS calsync_cursors (
            pair VARCHAR(255) NOT NULL, side VARCHAR(64) NOT NULL, cursor TEXT,
            PRIMARY KEY (pair, side))""",
        """CREATE TABLE IF NOT EXISTS calsync_journal (
            pair VARCHAR(255) NOT NULL, link_key VARCHAR(64) NOT NULL, side VARCHAR(64) NOT NULL,
            kind VARCHAR(16) NOT NULL, title TEXT NOT NULL, event_id VARCHAR(512),
            PRIMARY KEY (pair, link_key, side))""",
        """CREATE TABLE IF NOT EXISTS calsync_held (
            pair VARCHAR(255) NOT NULL, side VARCHAR(64) NOT NULL, event_id VARCHAR(512) NOT NULL,
            title TEXT NOT NULL, error TEXT NOT NULL, since VARCHAR(40) NOT NULL,
            attempts INTEGER NOT NULL, PRIMARY KEY (pair, side, event_id))""",
        """CREATE TABLE IF NOT EXISTS calsync_locks (
            pair VARCHAR(255) PRIMARY KEY, owner VARCHAR(64) NOT NULL,
            expires DOUBLE PRECISION NOT NULL)""",
    ),
    # version 2: the token store (msal's serialised cache per account, maybe encrypted)
    (
        """CREATE TABLE IF NOT EXISTS calsync_tokens (
            account VARCHAR(255) PRIMARY KEY, data TEXT NOT NULL,
            updated DOUBLE PRECISION NOT NULL)""",
    ),
    # version 3: held events remember their link, so a report shows each event once
    ("ALTER TABLE calsync_held ADD COLUMN link_key VARCHAR(64) NOT NULL DEFAULT ''",),
    # version 4: Graph change-notification subscriptions (subscription id -> pair)
    (
        """CREATE TABLE IF NOT EXISTS calsync_subscriptions (
            id VARCHAR(128) PRIMARY KEY, pair VARCHAR(255) NOT NULL,
            resource VARCHAR(512) NOT NULL, expires VARCHAR(40) NOT NULL,
            state_hash VARCHAR(64) NOT NULL, created VARCHAR(40) NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS calsync_subscriptions_pair ON calsync_subscriptions (pair)",
        "CREATE INDEX IF NOT EXISTS calsync_subscriptions_expires "
        "ON calsync_subscriptions (expires)",
    ),
    # version 5: per-pair status (the last run, and when a scheduler runs the pair next)
    (
        """CREATE TABLE IF NOT EXISTS calsync_status (
            pair VARCHAR(255) PRIMARY KEY, run TEXT, next_due VARCHAR(40),
            updated DOUBLE PRECISION NOT NULL)""",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


class SQL:
    """Every statement the stores run."""

    get_version = "SELECT value FROM calsync_meta WHERE name = 'schema_version'"
    insert_version = "INSERT INTO calsync_meta (name, value) VALUES ('schema_version', :version)"
    update_version = "UPDATE calsync_meta SET value = :version WHERE name = 'schema_version'"

    link_by_key = "SELECT data FROM calsync_links WHERE pair = :pair AND link_key = :key"
    link_by_left = "SELECT data FROM calsync_links WHERE pair = :pair AND left_id = :id"
    link_by_right = "SELECT data FROM calsync_links WHERE pair = :pair AND right_id = :id"
    left_ids = "SELECT left_id FROM calsync_links WHERE pair = :pair AND left_id IS NOT NULL"
    right_ids = "SELECT right_id FROM calsync_links WHERE pair = :pair AND right_id IS NOT NULL"
    count_links = "SELECT COUNT(*) FROM calsync_links WHERE pair = :pair"
    all_links = "SELECT data FROM calsync_links WHERE pair = :pair ORDER BY link_key"
    delete_link = "DELETE FROM calsync_links WHERE pair = :pair AND link_key = :key"
    insert_link = (
        "INSERT INTO calsync_links (pair, link_key, left_id, right_id, data) "
        "VALUES (:pair, :key, :left_id, :right_id, :data)"
    )
    delete_links = "DELETE FROM calsync_links WHERE pair = :pair"

    cursors = "SELECT side, cursor FROM calsync_cursors WHERE pair = :pair"
    delete_cursor = "DELETE FROM calsync_cursors WHERE pair = :pair AND side = :side"
    insert_cursor = (
        "INSERT INTO calsync_cursors (pair, side, cursor) VALUES (:pair, :side, :cursor)"
    )
    delete_cursors = "DELETE FROM calsync_cursors WHERE pair = :pair"

    journal = (
        "SELECT link_key, side, kind, title, event_id FROM calsync_journal "
        "WHERE pair = :pair ORDER BY link_key, side"
    )
    delete_intent = (
        "DELETE FROM calsync_journal WHERE pair = :pair AND link_key = :key AND side = :side"
    )
    insert_intent = (
        "INSERT INTO calsync_journal (pair, link_key, side, kind, title, event_id) "
        "VALUES (:pair, :key, :side, :kind, :title, :event_id)"
    )
    resolve_intents = "DELETE FROM calsync_journal WHERE pair = :pair AND link_key = :key"
    delete_journal = "DELETE FROM calsync_journal WHERE pair = :pair"

    held = (
        "SELECT side, event_id, title, error, since, attempts, link_key FROM calsync_held "
        "WHERE pair = :pair ORDER BY side, event_id"
    )
    insert_held = (
        "INSERT INTO calsync_held (pair, side, event_id, title, error, since, attempts, link_key) "
        "VALUES (:pair, :side, :id, :title, :error, :since, :attempts, :key)"
    )
    delete_held = "DELETE FROM calsync_held WHERE pair = :pair"

    lock_row = "SELECT owner, expires FROM calsync_locks WHERE pair = :pair"
    delete_lock = "DELETE FROM calsync_locks WHERE pair = :pair"
    insert_lock = (
        "INSERT INTO calsync_locks (pair, owner, expires) VALUES (:pair, :owner, :expires)"
    )
    release_lock = "DELETE FROM calsync_locks WHERE pair = :pair AND owner = :owner"
    renew_lock = "UPDATE calsync_locks SET expires = :expires WHERE pair = :pair AND owner = :owner"

    pairs = (
        "SELECT pair FROM calsync_links UNION SELECT pair FROM calsync_cursors "
        "UNION SELECT pair FROM calsync_journal ORDER BY pair"
    )

    status = "SELECT run, next_due FROM calsync_status WHERE pair = :pair"
    statuses = "SELECT pair, run, next_due FROM calsync_status ORDER BY pair"
    held_counts = "SELECT pair, COUNT(*) FROM calsync_held GROUP BY pair"
    held_count = "SELECT COUNT(*) FROM calsync_held WHERE pair = :pair"
    # Each writer sets its own column: a run's record and a scheduler's next due time never
    # overwrite each other.
    set_status_run = (
        "INSERT INTO calsync_status (pair, run, updated) VALUES (:pair, :run, :updated) "
        "ON CONFLICT (pair) DO UPDATE SET run = excluded.run, updated = excluded.updated"
    )
    set_status_due = (
        "INSERT INTO calsync_status (pair, next_due, updated) VALUES (:pair, :due, :updated) "
        "ON CONFLICT (pair) DO UPDATE SET next_due = excluded.next_due, updated = excluded.updated"
    )

    get_tokens = "SELECT data FROM calsync_tokens WHERE account = :account"
    # An upsert both SQLite (3.24+) and PostgreSQL run: concurrent writers never collide.
    set_tokens = (
        "INSERT INTO calsync_tokens (account, data, updated) VALUES (:account, :data, :updated) "
        "ON CONFLICT (account) DO UPDATE SET data = excluded.data, updated = excluded.updated"
    )
    delete_tokens = "DELETE FROM calsync_tokens WHERE account = :account"
    accounts = "SELECT account FROM calsync_tokens ORDER BY account"

    subscription = (
        "SELECT id, pair, resource, expires, state_hash, created FROM calsync_subscriptions "
        "WHERE id = :id"
    )
    subscriptions_of = (
        "SELECT id, pair, resource, expires, state_hash, created FROM calsync_subscriptions "
        "WHERE pair = :pair ORDER BY expires, id"
    )
    subscriptions_before = (
        "SELECT id, pair, resource, expires, state_hash, created FROM calsync_subscriptions "
        "WHERE expires < :before ORDER BY expires, id"
    )
    set_subscription = (
        "INSERT INTO calsync_subscriptions (id, pair, resource, expires, state_hash, created) "
        "VALUES (:id, :pair, :resource, :expires, :state_hash, :created) "
        "ON CONFLICT (id) DO UPDATE SET pair = excluded.pair, resource = excluded.resource, "
        "expires = excluded.expires, state_hash = excluded.state_hash"
    )
    delete_subscription = "DELETE FROM calsync_subscriptions WHERE id = :id"

    # PostgreSQL only: pair locks and the migration lock (advisory locks on a 64-bit key).
    pg_schema = "SELECT current_schema()"
    pg_try_lock = "SELECT pg_try_advisory_lock(:key)"
    pg_unlock = "SELECT pg_advisory_unlock(:key)"
    pg_xact_lock = "SELECT pg_advisory_xact_lock(:key)"
    pg_backend_pid = "SELECT pg_backend_pid()"
    pg_holds = (
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND pid = :pid AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
    )
