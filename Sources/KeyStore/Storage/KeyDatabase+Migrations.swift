import GRDB

extension KeyDatabase {
    /// The schema, as versioned migrations that only ever move forward: a
    /// released migration is never edited, a change is a new one.
    ///
    /// Times are INTEGER milliseconds since 1970 UTC: compact, compared
    /// without parsing on the verification path, and the same in PostgreSQL.
    /// Lists of capabilities and origins are space-separated, which neither
    /// can contain.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: keys, secrets, usage, audit") { db in
            try db.execute(sql: """
                CREATE TABLE api_key (
                    -- Insertion order, never reused: lists page by it without
                    -- gaps or repeats while keys are being added.
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 5 AND 64),
                    organization_id TEXT NOT NULL CHECK (length(organization_id) BETWEEN 1 AND 128),
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 400),
                    kind TEXT NOT NULL CHECK (kind <> ''),
                    capabilities TEXT NOT NULL CHECK (capabilities <> ''),
                    environment TEXT NOT NULL CHECK (environment <> ''),
                    hint TEXT NOT NULL CHECK (hint <> ''),
                    rate_limit INTEGER NOT NULL CHECK (rate_limit BETWEEN 1 AND 1000),
                    allowed_origins TEXT NOT NULL DEFAULT '',
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER CHECK (expires_at > created_at),
                    revoked_at INTEGER CHECK (revoked_at >= created_at),
                    last_used_at INTEGER,
                    last_origin TEXT,
                    last_ip TEXT
                );
                CREATE INDEX api_key_by_organization ON api_key(organization_id, seq);

                -- A key's secrets, by digest only: the current one (expires_at
                -- NULL) and, after a rotation with a grace period, earlier ones
                -- until their deadline.
                CREATE TABLE key_secret (
                    digest BLOB PRIMARY KEY CHECK (typeof(digest) = 'blob' AND length(digest) = 32),
                    key_id TEXT NOT NULL REFERENCES api_key(id) ON DELETE CASCADE,
                    expires_at INTEGER
                ) WITHOUT ROWID;
                CREATE INDEX key_secret_by_key ON key_secret(key_id);
                CREATE UNIQUE INDEX key_secret_one_current ON key_secret(key_id) WHERE expires_at IS NULL;

                CREATE TABLE key_usage_day (
                    key_id TEXT NOT NULL REFERENCES api_key(id) ON DELETE CASCADE,
                    day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
                    valid INTEGER NOT NULL DEFAULT 0 CHECK (valid >= 0),
                    invalid INTEGER NOT NULL DEFAULT 0 CHECK (invalid >= 0),
                    PRIMARY KEY (key_id, day)
                ) WITHOUT ROWID;

                -- No foreign key to api_key: the log keeps what happened to a
                -- key after the key is deleted.
                CREATE TABLE audit_entry (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    organization_id TEXT NOT NULL CHECK (organization_id <> ''),
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL CHECK (actor <> ''),
                    action TEXT NOT NULL CHECK (action <> ''),
                    key_id TEXT,
                    details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
                );
                CREATE INDEX audit_entry_by_organization ON audit_entry(organization_id, id);
                """)
        }
        migrator.registerMigration("v2: subscriptions, billing events, meters") { db in
            try db.execute(sql: """
                CREATE TABLE subscription (
                    organization_id TEXT PRIMARY KEY CHECK (length(organization_id) BETWEEN 1 AND 128),
                    plan TEXT NOT NULL CHECK (plan <> ''),
                    status TEXT NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'canceled')),
                    period_start INTEGER,
                    period_end INTEGER,
                    last_event_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    CHECK ((period_start IS NULL) = (period_end IS NULL)),
                    CHECK (period_end > period_start)
                ) WITHOUT ROWID;

                -- Every billing event id ever seen, applied or not, so a
                -- replay is recognised whenever it comes.
                CREATE TABLE billing_event (
                    event_id TEXT PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 200),
                    organization_id TEXT NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    received_at INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'stale'))
                ) WITHOUT ROWID;

                -- One count per organization, meter and quota period.
                CREATE TABLE meter_usage (
                    organization_id TEXT NOT NULL,
                    meter TEXT NOT NULL,
                    period_start INTEGER NOT NULL,
                    used INTEGER NOT NULL CHECK (used >= 0),
                    PRIMARY KEY (organization_id, meter, period_start)
                ) WITHOUT ROWID;

                -- usage.record calls already counted, by idempotency key.
                CREATE TABLE usage_record (
                    organization_id TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                    meter TEXT NOT NULL,
                    period_start INTEGER NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    recorded_at INTEGER NOT NULL,
                    PRIMARY KEY (organization_id, idempotency_key)
                ) WITHOUT ROWID;

                CREATE INDEX api_key_live ON api_key(organization_id, seq) WHERE revoked_at IS NULL;
                """)
        }
        migrator.registerMigration("v3: change log") { db in
            // One number that moves with every change verification depends
            // on (keys, secrets, subscriptions) and not with usage counters.
            // Triggers keep it, so no write path can forget it; verification
            // caches stay valid across usage flushes and drop at once when
            // this moves.
            try db.execute(sql: """
                CREATE TABLE change_log (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version INTEGER NOT NULL
                );
                INSERT INTO change_log (id, version) VALUES (1, 0);
                CREATE TRIGGER api_key_inserted AFTER INSERT ON api_key
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER api_key_deleted AFTER DELETE ON api_key
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER api_key_changed
                    AFTER UPDATE OF organization_id, kind, capabilities, environment, rate_limit, allowed_origins,
                                    expires_at, revoked_at ON api_key
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER key_secret_inserted AFTER INSERT ON key_secret
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER key_secret_deleted AFTER DELETE ON key_secret
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER key_secret_changed AFTER UPDATE ON key_secret
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER subscription_inserted AFTER INSERT ON subscription
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER subscription_changed AFTER UPDATE ON subscription
                    BEGIN UPDATE change_log SET version = version + 1; END;
                CREATE TRIGGER subscription_deleted AFTER DELETE ON subscription
                    BEGIN UPDATE change_log SET version = version + 1; END;
                """)
        }
        migrator.registerMigration("v4: change events per key and organization") { db in
            // Replaces the single change counter: every change of a key, a
            // secret or a subscription appends what it touched, so a process
            // that sees the log move forgets those entries only, not all it
            // holds. The newest 65,536 events are kept; a process that fell
            // further behind starts over.
            try db.execute(sql: """
                DROP TRIGGER api_key_inserted;
                DROP TRIGGER api_key_deleted;
                DROP TRIGGER api_key_changed;
                DROP TRIGGER key_secret_inserted;
                DROP TRIGGER key_secret_deleted;
                DROP TRIGGER key_secret_changed;
                DROP TRIGGER subscription_inserted;
                DROP TRIGGER subscription_changed;
                DROP TRIGGER subscription_deleted;
                DROP TABLE change_log;

                CREATE TABLE change_event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    -- NULL only for a secret whose key is already gone.
                    organization_id TEXT,
                    -- NULL: the organization's subscription changed.
                    key_id TEXT,
                    -- A secret that now exists: a cached "no such key" for it is stale.
                    digest BLOB
                );
                CREATE TRIGGER change_event_pruned AFTER INSERT ON change_event
                    BEGIN DELETE FROM change_event WHERE seq <= NEW.seq - 65536; END;

                CREATE TRIGGER api_key_inserted AFTER INSERT ON api_key
                    BEGIN INSERT INTO change_event (organization_id, key_id) VALUES (NEW.organization_id, NEW.id); END;
                CREATE TRIGGER api_key_deleted AFTER DELETE ON api_key
                    BEGIN INSERT INTO change_event (organization_id, key_id) VALUES (OLD.organization_id, OLD.id); END;
                CREATE TRIGGER api_key_changed
                    AFTER UPDATE OF organization_id, kind, capabilities, environment, rate_limit, allowed_origins,
                                    expires_at, revoked_at ON api_key
                    BEGIN INSERT INTO change_event (organization_id, key_id) VALUES (NEW.organization_id, NEW.id); END;
                CREATE TRIGGER key_secret_inserted AFTER INSERT ON key_secret
                    BEGIN INSERT INTO change_event (organization_id, key_id, digest)
                          VALUES ((SELECT organization_id FROM api_key WHERE id = NEW.key_id), NEW.key_id, NEW.digest); END;
                CREATE TRIGGER key_secret_deleted AFTER DELETE ON key_secret
                    BEGIN INSERT INTO change_event (organization_id, key_id)
                          VALUES ((SELECT organization_id FROM api_key WHERE id = OLD.key_id), OLD.key_id); END;
                CREATE TRIGGER key_secret_changed AFTER UPDATE ON key_secret
                    BEGIN INSERT INTO change_event (organization_id, key_id, digest)
                          VALUES ((SELECT organization_id FROM api_key WHERE id = NEW.key_id), NEW.key_id, NEW.digest); END;
                CREATE TRIGGER subscription_inserted AFTER INSERT ON subscription
                    BEGIN INSERT INTO change_event (organization_id) VALUES (NEW.organization_id); END;
                CREATE TRIGGER subscription_changed AFTER UPDATE ON subscription
                    BEGIN INSERT INTO change_event (organization_id) VALUES (NEW.organization_id); END;
                CREATE TRIGGER subscription_deleted AFTER DELETE ON subscription
                    BEGIN INSERT INTO change_event (organization_id) VALUES (OLD.organization_id); END;
                """)
        }
        migrator.registerMigration("v5: count log") { db in
            // Moves when a flush adds to meters: verification re-reads the
            // stored request counts it keeps then, and not on every commit
            // (a key's change moves the data version too, but no count).
            try db.execute(sql: """
                CREATE TABLE count_log (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version INTEGER NOT NULL
                );
                INSERT INTO count_log (id, version) VALUES (1, 0);
                """)
        }
        migrator.registerMigration("v6: flush identities") { db in
            // Flushes already written, by the identity their process gave
            // them, for a day: one tried again after an unknown outcome is
            // recognised and adds nothing.
            try db.execute(sql: """
                CREATE TABLE usage_flush (
                    flush_id TEXT PRIMARY KEY,
                    flushed_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX usage_flush_by_time ON usage_flush (flushed_at);
                """)
        }
        migrator.registerMigration("v7: events outbox") { db in
            // What happened, for the product to act on, written with the
            // change that caused it. `seq` is commit order (one writer at a
            // time); `once` makes time-based and threshold events unique.
            try db.execute(sql: """
                CREATE TABLE outbox_event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    key_id TEXT,
                    data TEXT NOT NULL,
                    once TEXT UNIQUE
                );
                CREATE INDEX outbox_event_by_organization ON outbox_event (organization_id, seq);
                CREATE INDEX outbox_event_by_time ON outbox_event (at);
                CREATE INDEX api_key_by_expiry ON api_key (expires_at) WHERE expires_at IS NOT NULL;
                """)
        }
        migrator.registerMigration("v8: usage by outcome and capability") { db in
            // A key's verifications of a day by the code that refused them
            // and by the capability they asked for: a row per name used,
            // written by the same flush as the day's totals.
            try db.execute(sql: """
                CREATE TABLE key_usage_count (
                    key_id TEXT NOT NULL REFERENCES api_key(id) ON DELETE CASCADE,
                    day TEXT NOT NULL,
                    dimension TEXT NOT NULL CHECK (dimension IN ('outcome', 'capability')),
                    name TEXT NOT NULL,
                    count INTEGER NOT NULL CHECK (count >= 0),
                    PRIMARY KEY (key_id, day, dimension, name)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v9: last use in the day's row") { db in
            // A flush writes where a key was last used into the day's row it
            // writes anyway, not into the key's own row: one row per key
            // and flush instead of two. `api_key.last_used_at` keeps what
            // came before (and what an import brought).
            try db.execute(sql: """
                ALTER TABLE key_usage_day ADD COLUMN last_used_at INTEGER;
                ALTER TABLE key_usage_day ADD COLUMN last_origin TEXT;
                ALTER TABLE key_usage_day ADD COLUMN last_ip TEXT;
                """)
        }
        migrator.registerMigration("v10: one index per event") { db in
            // Every key change writes an event: four index entries each made
            // it a third of a key's import. Ids are unique by construction
            // (time and 77 random bits); only time-based and threshold events
            // have a `once` key; pruning walks from the oldest by position.
            try db.execute(sql: """
                CREATE TABLE outbox_event_new (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL,
                    organization_id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    key_id TEXT,
                    data TEXT NOT NULL,
                    once TEXT
                );
                INSERT INTO outbox_event_new (seq, id, organization_id, type, at, key_id, data, once)
                    SELECT seq, id, organization_id, type, at, key_id, data, once FROM outbox_event;
                DROP TABLE outbox_event;
                ALTER TABLE outbox_event_new RENAME TO outbox_event;
                CREATE INDEX outbox_event_by_organization ON outbox_event (organization_id, seq);
                CREATE UNIQUE INDEX outbox_event_once ON outbox_event (once) WHERE once IS NOT NULL;
                """)
        }
        migrator.registerMigration("v11: meter counts by version") { db in
            // Each meter row carries the count version (`count_log`) of the
            // write that last moved it: after a flush, verification reads the
            // rows that moved in one range scan instead of reading each
            // organization's count again (docs/STORAGE.md).
            try db.execute(sql: """
                ALTER TABLE meter_usage ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX meter_usage_by_version ON meter_usage (version);
                """)
        }
        migrator.registerMigration("v12: usage in a file of its own") { db in
            // Keys' usage counts move to the usage file this connection
            // attaches (``KeyDatabase/usagePath(for:)``). An in-memory
            // database attaches none and keeps them.
            let files = try Row.fetchAll(db, sql: "PRAGMA database_list")
            guard let main: String = files.first(where: { $0["name"] == "main" })?["file"],
                let usage: String = files.first(where: { $0["name"] == "usage" })?["file"], !main.isEmpty, !usage.isEmpty
            else { return }
            try KeyDatabase.copyUsage(from: main, into: usage)
            try db.execute(sql: """
                DROP TABLE main.key_usage_count;
                DROP TABLE main.key_usage_day;
                """)
        }
        migrator.registerMigration("v13: secrets name their key's row") { db in
            // Verification's miss finds a key's row by the secret's digest:
            // through the key's id, that is a descent of the id index and
            // then of the table; by the row's number, of the table alone
            // (docs/PERFORMANCE.md). Adding the column is instant; filling
            // it in for existing secrets is not (12 s for a million in one
            // statement here, which processes starting meanwhile would wait
            // for past their busy timeout), so
            // it is done after the migration, in short transactions
            // (``KeyDatabase/linkSecrets(_:batch:)``), and until then a secret
            // without it is found through the id as before.
            try db.execute(sql: """
                ALTER TABLE key_secret ADD COLUMN key_seq INTEGER;
                CREATE TABLE maintenance (task TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT INTO maintenance (task) SELECT '\(KeyDatabase.linkSecretsTask)' WHERE EXISTS (SELECT 1 FROM key_secret);
                """)
        }
        migrator.registerMigration("v14: live keys counted from their index") { db in
            // Every creation counts its organization's live keys of the
            // plan's kinds against the plan's maximum, and an organization
            // entering verification's cache finds their next expiry. With
            // the kind and expiry in the index (and `revoked_at`, always
            // NULL there, which SQLite needs to see the partial index's
            // condition as covered), both read the index alone instead of
            // one table row per key (docs/PERFORMANCE.md). Rebuilding it
            // holds the writer about a second at a million keys, within
            // other processes' busy timeout.
            try db.execute(sql: """
                DROP INDEX api_key_live;
                CREATE INDEX api_key_live ON api_key (organization_id, seq, kind, expires_at, revoked_at)
                    WHERE revoked_at IS NULL;
                """)
        }
        migrator.registerMigration("v15: one change event per created key") { db in
            // A key is created with its secret in the same transaction, and
            // the secret's event already names the organization, the key and
            // the digest: the key's own insert event said nothing more, and
            // cost every creation and import a second row, its sequence
            // update and a pruning delete (docs/PERFORMANCE.md). The log of
            // 65,536 events now also reaches back over twice the creations.
            // Deleting or changing a key still records its own event.
            try db.execute(sql: "DROP TRIGGER api_key_inserted")
        }
        migrator.registerMigration("v16: catalogs in use") { db in
            // Each process records the catalog it serves with, so that
            // processes that load different ones (answering the same
            // request differently) each learn of the other. A row per
            // catalog, not per process: a few rows, written once a minute.
            try db.execute(sql: """
                CREATE TABLE catalog_in_use (
                    digest TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
                    source TEXT NOT NULL,
                    host TEXT NOT NULL,
                    process_id INTEGER NOT NULL,
                    seen_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v17: settings in use") { db in
            // The catalog is one of several settings processes must agree
            // on: one that keeps fewer days of usage or events than the
            // others would fold or prune, for all of them, what they keep.
            // A row per setting and value; the catalogs recorded so far
            // move in as they are.
            try db.execute(sql: """
                CREATE TABLE setting_in_use (
                    name TEXT NOT NULL CHECK (name <> ''),
                    value TEXT NOT NULL,
                    source TEXT NOT NULL,
                    host TEXT NOT NULL,
                    process_id INTEGER NOT NULL,
                    seen_at INTEGER NOT NULL,
                    PRIMARY KEY (name, value)
                ) WITHOUT ROWID;
                INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at)
                    SELECT 'catalog', digest, source, host, process_id, seen_at FROM catalog_in_use;
                DROP TABLE catalog_in_use;
                """)
        }
        migrator.registerMigration("v18: settings of each process") { db in
            // `setting_in_use` keeps a value's last process only: enough to
            // tell that processes disagree, not which ones (during an
            // upgrade: every process still on the version before). A row
            // per process and setting, beside it; processes of v17 go on
            // writing only that table, which stays what they agree by.
            try db.execute(sql: """
                CREATE TABLE process_setting (
                    host TEXT NOT NULL,
                    process_id INTEGER NOT NULL,
                    name TEXT NOT NULL CHECK (name <> ''),
                    value TEXT NOT NULL,
                    source TEXT NOT NULL,
                    seen_at INTEGER NOT NULL,
                    PRIMARY KEY (host, process_id, name)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v19: billing events as sent") { db in
            // An event id was remembered with its organization and time
            // only, so one reused for another event (a plan change sent
            // under the id of the one before) was answered as a replay and
            // the change silently dropped. What the event said is kept too
            // now, and a reuse refused; rows from before (and from a
            // process of v18 during an upgrade) have no plan, and only
            // their organization and time are compared. Columns without a
            // default: no row is rewritten.
            try db.execute(sql: """
                ALTER TABLE billing_event ADD COLUMN plan TEXT;
                ALTER TABLE billing_event ADD COLUMN status TEXT;
                ALTER TABLE billing_event ADD COLUMN period_start INTEGER;
                ALTER TABLE billing_event ADD COLUMN period_end INTEGER;
                """)
        }
        migrator.registerMigration("v20: usage records as sent") { db in
            // An idempotency key was compared by meter and amount only, so a
            // reservation sent under the key of a use recorded past the
            // limit was told it fit. Whether the use asked to reserve is
            // kept too now; rows from before (and from a process of v19
            // during an upgrade) have none, and it is not compared. A column
            // without a default: no row is rewritten.
            try db.execute(sql: "ALTER TABLE usage_record ADD COLUMN reserve INTEGER")
        }
        migrator.registerMigration("v21: rotated-out secrets keep their hint") { db in
            // A secret a rotation leaves working for a grace period keeps
            // the hint it had on its key, for the dashboard to name it
            // (`previousSecrets`); one rotated out before has none. A column
            // without a default: no row is rewritten.
            try db.execute(sql: "ALTER TABLE key_secret ADD COLUMN hint TEXT")
        }
        migrator.registerMigration("v22: key creations by idempotency key") { db in
            // A dashboard that retries a `keys.create` whose answer was lost
            // made a second key, counted against the plan, whose secret
            // nobody holds. A creation under an idempotency key is
            // remembered with the key it made and what it sent (NULL: left
            // out for a default), until the retention of idempotency keys
            // forgets it. No foreign key: the key may be deleted, and its
            // creation still happened.
            try db.execute(sql: """
                CREATE TABLE key_creation (
                    organization_id TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                    key_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    capabilities TEXT NOT NULL,
                    environment TEXT,
                    rate_limit INTEGER,
                    allowed_origins TEXT NOT NULL,
                    expires_at INTEGER,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (organization_id, idempotency_key)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v23: key rotations by idempotency key") { db in
            // A `keys.rotate` sent again (a retry on a timeout, a replayed
            // job) replaced the secret the first call made, which its
            // caller may have installed. A rotation under an idempotency
            // key is remembered with the key and the grace it gave, as a
            // creation is, and forgotten with it.
            try db.execute(sql: """
                CREATE TABLE key_rotation (
                    organization_id TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                    key_id TEXT NOT NULL,
                    grace_period_seconds INTEGER NOT NULL CHECK (grace_period_seconds >= 0),
                    rotated_at INTEGER NOT NULL,
                    PRIMARY KEY (organization_id, idempotency_key)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v24: each key's audit trail") { db in
            // A key's page in the dashboard shows what was done to it
            // (`audit.list {keyId}`), which the organization's index could
            // find only by reading its whole log back. Subscription changes
            // name no key and stay out of it. Building it reads the log
            // once; nothing is rewritten.
            try db.execute(sql: """
                CREATE INDEX audit_entry_by_key ON audit_entry(organization_id, key_id, id) WHERE key_id IS NOT NULL
                """)
        }
        migrator.registerMigration("v25: how far events were pruned") { db in
            // A reader of the outbox that fell further behind than the
            // event retention went on past the events the sweep deleted as
            // if there had been none. The sweep now records, for each
            // organization and for all of them ('' names all), the last
            // position it deleted, so a cursor before it is told
            // (`cursor_expired`). Prunings before this migration, and by
            // processes of an earlier version, are not recorded.
            try db.execute(sql: """
                CREATE TABLE outbox_pruned (
                    organization_id TEXT PRIMARY KEY,
                    through INTEGER NOT NULL CHECK (through > 0)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v26: erasures marked in the change log") { db in
            // A process that counted verifications of an organization's keys
            // before learning of its erasure wrote them after it, and the
            // organization's request count came back. Marked, the erasure's
            // entry tells each process to drop what it holds of the
            // organization's counts, and tells a flush that took counts
            // before that entry not to write them. Erasures by processes of
            // an earlier version are not marked.
            try db.execute(sql: "ALTER TABLE change_event ADD COLUMN erased INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v27: billing event ids by organization") { db in
            // An erasure deletes an organization's billing event ids, which
            // only their id found: it read the whole table, every
            // organization's ids since the first (kept for good by
            // default), holding the one writer meanwhile. Billing events
            // are few, and each now writes one more index entry.
            try db.execute(sql: "CREATE INDEX billing_event_by_organization ON billing_event(organization_id)")
        }
        return migrator
    }
}
