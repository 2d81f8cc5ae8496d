/// The PostgreSQL schema, as numbered migrations that only move forward.
/// The tables are SQLite's (times in integer milliseconds since 1970 UTC,
/// lists space-separated), so both stores answer alike.
enum PostgresSchema {
    /// The advisory lock hosts take while migrating ("keygate" in ASCII):
    /// hosts starting together migrate once, the others wait and find the
    /// work done.
    static let migrationLock: Int64 = 0x6b65_7967_6174_65

    /// The channel a change of keys, secrets or subscriptions is announced
    /// on; the payload is the schema's name, a space and the change log's
    /// new position.
    static let changeChannel = "keygate_changes"

    static let migrations: [(version: Int, name: String, sql: String)] = [
        (1, "keys, secrets, usage, audit, subscriptions, meters, change log", """
            CREATE TABLE api_key (
                seq BIGSERIAL PRIMARY KEY,
                id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 5 AND 64),
                organization_id TEXT NOT NULL CHECK (length(organization_id) BETWEEN 1 AND 128),
                name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 400),
                kind TEXT NOT NULL CHECK (kind <> ''),
                capabilities TEXT NOT NULL CHECK (capabilities <> ''),
                environment TEXT NOT NULL CHECK (environment <> ''),
                hint TEXT NOT NULL CHECK (hint <> ''),
                rate_limit INTEGER NOT NULL CHECK (rate_limit BETWEEN 1 AND 1000),
                allowed_origins TEXT NOT NULL DEFAULT '',
                created_at BIGINT NOT NULL,
                expires_at BIGINT CHECK (expires_at > created_at),
                revoked_at BIGINT CHECK (revoked_at >= created_at),
                last_used_at BIGINT,
                last_origin TEXT,
                last_ip TEXT
            );
            CREATE INDEX api_key_by_organization ON api_key (organization_id, seq);
            CREATE INDEX api_key_live ON api_key (organization_id, seq) WHERE revoked_at IS NULL;

            CREATE TABLE key_secret (
                digest BYTEA PRIMARY KEY CHECK (length(digest) = 32),
                key_id TEXT NOT NULL REFERENCES api_key (id) ON DELETE CASCADE,
                expires_at BIGINT
            );
            CREATE INDEX key_secret_by_key ON key_secret (key_id);
            CREATE UNIQUE INDEX key_secret_one_current ON key_secret (key_id) WHERE expires_at IS NULL;

            CREATE TABLE key_usage_day (
                key_id TEXT NOT NULL REFERENCES api_key (id) ON DELETE CASCADE,
                day TEXT NOT NULL CHECK (day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
                valid BIGINT NOT NULL DEFAULT 0 CHECK (valid >= 0),
                invalid BIGINT NOT NULL DEFAULT 0 CHECK (invalid >= 0),
                PRIMARY KEY (key_id, day)
            );

            CREATE TABLE audit_entry (
                id BIGSERIAL PRIMARY KEY,
                organization_id TEXT NOT NULL CHECK (organization_id <> ''),
                at BIGINT NOT NULL,
                actor TEXT NOT NULL CHECK (actor <> ''),
                action TEXT NOT NULL CHECK (action <> ''),
                key_id TEXT,
                details TEXT NOT NULL DEFAULT '{}'
            );
            CREATE INDEX audit_entry_by_organization ON audit_entry (organization_id, id);

            CREATE TABLE subscription (
                organization_id TEXT PRIMARY KEY CHECK (length(organization_id) BETWEEN 1 AND 128),
                plan TEXT NOT NULL CHECK (plan <> ''),
                status TEXT NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'canceled')),
                period_start BIGINT,
                period_end BIGINT,
                last_event_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                CHECK ((period_start IS NULL) = (period_end IS NULL)),
                CHECK (period_end > period_start)
            );

            CREATE TABLE billing_event (
                event_id TEXT PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 200),
                organization_id TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                received_at BIGINT NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'stale'))
            );

            CREATE TABLE meter_usage (
                organization_id TEXT NOT NULL,
                meter TEXT NOT NULL,
                period_start BIGINT NOT NULL,
                used BIGINT NOT NULL CHECK (used >= 0),
                PRIMARY KEY (organization_id, meter, period_start)
            );

            CREATE TABLE usage_record (
                organization_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                meter TEXT NOT NULL,
                period_start BIGINT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                recorded_at BIGINT NOT NULL,
                PRIMARY KEY (organization_id, idempotency_key)
            );

            -- Flushes already written, by the identity their process gave
            -- them: a flush retried after its commit's acknowledgement was
            -- lost is recognised and not counted twice.
            CREATE TABLE usage_flush (
                flush_id TEXT PRIMARY KEY,
                flushed_at BIGINT NOT NULL
            );
            CREATE INDEX usage_flush_by_time ON usage_flush (flushed_at);

            -- The change log. Its head is one row that every change updates
            -- before appending, so positions are handed out in commit order
            -- (a sequence would hand them out in start order, and a reader
            -- could pass a position whose transaction had not committed yet).
            CREATE TABLE change_head (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                position BIGINT NOT NULL
            );
            INSERT INTO change_head (id, position) VALUES (1, 0);
            CREATE TABLE change_event (
                seq BIGINT PRIMARY KEY,
                organization_id TEXT,
                key_id TEXT,
                digest BYTEA
            );
            -- Each key's GCRA arrival time, shared by every host. Unlogged:
            -- written on every admitted verification, not worth a WAL record;
            -- a server crash empties it (every key gets its burst back).
            CREATE UNLOGGED TABLE rate_limit (
                tag BIGINT PRIMARY KEY,
                arrival BIGINT NOT NULL
            );
            CREATE TABLE count_log (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                version BIGINT NOT NULL
            );
            INSERT INTO count_log (id, version) VALUES (1, 0);

            CREATE FUNCTION keygate_change(organization TEXT, key TEXT, secret BYTEA) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE
                next BIGINT;
            BEGIN
                UPDATE change_head SET position = position + 1 WHERE id = 1 RETURNING position INTO next;
                INSERT INTO change_event (seq, organization_id, key_id, digest) VALUES (next, organization, key, secret);
                DELETE FROM change_event WHERE seq <= next - 65536;
                -- Delivered at commit, to every listening host; never sent
                -- from the hot paths (usage flushes, rate limits). The schema
                -- leads the payload: deployments in other schemas of the same
                -- database share the channel.
                PERFORM pg_notify('keygate_changes', current_schema() || ' ' || next::text);
            END;
            $$;

            CREATE FUNCTION keygate_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM keygate_change(OLD.organization_id, OLD.id, NULL);
                    RETURN OLD;
                END IF;
                PERFORM keygate_change(NEW.organization_id, NEW.id, NULL);
                RETURN NEW;
            END;
            $$;
            CREATE TRIGGER api_key_inserted AFTER INSERT OR DELETE ON api_key
                FOR EACH ROW EXECUTE FUNCTION keygate_key_changed();
            CREATE TRIGGER api_key_changed
                AFTER UPDATE OF organization_id, kind, capabilities, environment, rate_limit, allowed_origins,
                                expires_at, revoked_at ON api_key
                FOR EACH ROW EXECUTE FUNCTION keygate_key_changed();

            CREATE FUNCTION keygate_secret_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM keygate_change((SELECT organization_id FROM api_key WHERE id = OLD.key_id), OLD.key_id, NULL);
                    RETURN OLD;
                END IF;
                PERFORM keygate_change((SELECT organization_id FROM api_key WHERE id = NEW.key_id), NEW.key_id, NEW.digest);
                RETURN NEW;
            END;
            $$;
            CREATE TRIGGER key_secret_changed AFTER INSERT OR UPDATE OR DELETE ON key_secret
                FOR EACH ROW EXECUTE FUNCTION keygate_secret_changed();

            CREATE FUNCTION keygate_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM keygate_change(OLD.organization_id, NULL, NULL);
                    RETURN OLD;
                END IF;
                PERFORM keygate_change(NEW.organization_id, NULL, NULL);
                RETURN NEW;
            END;
            $$;
            CREATE TRIGGER subscription_changed AFTER INSERT OR UPDATE OR DELETE ON subscription
                FOR EACH ROW EXECUTE FUNCTION keygate_subscription_changed();
            """),
        (2, "rate-limit reservations", """
            -- Reserves up to `want` cells of a key (at least `need`, else
            -- none) as GCRA admits them at `now`, after taking back `give_back`
            -- cells an earlier reservation did not use; returns the cells
            -- granted and the key's arrival time after them. One statement,
            -- under the row's lock, so hosts take turns at each key.
            CREATE FUNCTION keygate_lease(p_tag BIGINT, p_now BIGINT, p_interval BIGINT, want INTEGER, need INTEGER,
                                          give_back INTEGER)
            RETURNS TABLE (granted INTEGER, arrival BIGINT) LANGUAGE plpgsql AS $$
            DECLARE
                current BIGINT;
                free BIGINT;
                take INTEGER := 0;
            BEGIN
                INSERT INTO rate_limit (tag, arrival) VALUES (p_tag, 0) ON CONFLICT (tag) DO NOTHING;
                SELECT r.arrival INTO current FROM rate_limit r WHERE r.tag = p_tag FOR UPDATE;
                current := GREATEST(current - give_back * p_interval, p_now);
                free := (p_now + 60000000 - current) / p_interval;
                IF free >= need THEN
                    take := LEAST(free, want);
                END IF;
                current := current + take * p_interval;
                UPDATE rate_limit SET arrival = current WHERE tag = p_tag;
                RETURN QUERY SELECT take, current;
            END;
            $$;
            """),
        (3, "events outbox", """
            -- What happened, for the product to act on, written with the
            -- change that caused it. Positions come from one row every
            -- event's transaction updates and holds until it commits, so
            -- they follow commit order: a consumer never skips an event
            -- that committed late with a smaller number.
            CREATE TABLE outbox_head (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                position BIGINT NOT NULL
            );
            INSERT INTO outbox_head (id, position) VALUES (1, 0);
            CREATE TABLE outbox_event (
                seq BIGINT PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                organization_id TEXT NOT NULL,
                type TEXT NOT NULL,
                at BIGINT NOT NULL,
                key_id TEXT,
                data TEXT NOT NULL,
                once TEXT UNIQUE
            );
            CREATE INDEX outbox_event_by_organization ON outbox_event (organization_id, seq);
            CREATE INDEX outbox_event_by_time ON outbox_event (at);
            CREATE INDEX api_key_by_expiry ON api_key (expires_at) WHERE expires_at IS NOT NULL;
            """),
        (4, "usage by outcome and capability", """
            -- A key's verifications of a day by the code that refused them
            -- and by the capability they asked for, written by the same
            -- flush as the day's totals.
            CREATE TABLE key_usage_count (
                key_id TEXT NOT NULL REFERENCES api_key (id) ON DELETE CASCADE,
                day TEXT NOT NULL,
                dimension TEXT NOT NULL CHECK (dimension IN ('outcome', 'capability')),
                name TEXT NOT NULL,
                count BIGINT NOT NULL CHECK (count >= 0),
                PRIMARY KEY (key_id, day, dimension, name)
            );
            """),
        (5, "last use in the day's row", """
            -- A flush writes where a key was last used into the day's row it
            -- writes anyway, not into the key's own row (one row per key
            -- and flush, and no lock on the key's row held for it);
            -- api_key.last_used_at keeps what came before, or an import's.
            ALTER TABLE key_usage_day ADD COLUMN last_used_at BIGINT;
            ALTER TABLE key_usage_day ADD COLUMN last_origin TEXT;
            ALTER TABLE key_usage_day ADD COLUMN last_ip TEXT;
            """),
        (6, "inserted keys and secrets logged once per statement", """
            -- Row by row, a statement inserting 500 keys updated the change
            -- log's head 1,000 times in one transaction: each update walks
            -- the row's chain of versions, so the cost grew with the square
            -- of the batch, and with every batch until a vacuum (an import
            -- of 100,000 keys ran at 390 a second). Per statement, the head
            -- moves once by the number of rows, and one notification goes.
            CREATE FUNCTION keygate_changes_logged(n BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
            DECLARE
                last BIGINT;
            BEGIN
                UPDATE change_head SET position = position + n WHERE id = 1 RETURNING position INTO last;
                DELETE FROM change_event WHERE seq <= last - 65536;
                PERFORM pg_notify('keygate_changes', current_schema() || ' ' || last::text);
                RETURN last;
            END;
            $$;

            -- Keys or secrets a statement inserted, each a change of its key.
            CREATE FUNCTION keygate_rows_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                n BIGINT;
                last BIGINT;
            BEGIN
                SELECT count(*) INTO n FROM inserted;
                IF n = 0 THEN RETURN NULL; END IF;
                last := keygate_changes_logged(n);
                IF TG_TABLE_NAME = 'api_key' THEN
                    INSERT INTO change_event (seq, organization_id, key_id, digest)
                    SELECT last - n + row_number() OVER (), organization_id, id, NULL FROM inserted;
                ELSE
                    INSERT INTO change_event (seq, organization_id, key_id, digest)
                    SELECT last - n + row_number() OVER (), k.organization_id, s.key_id, s.digest
                    FROM inserted s LEFT JOIN api_key k ON k.id = s.key_id;
                END IF;
                RETURN NULL;
            END;
            $$;

            DROP TRIGGER api_key_inserted ON api_key;
            CREATE TRIGGER api_key_deleted AFTER DELETE ON api_key
                FOR EACH ROW EXECUTE FUNCTION keygate_key_changed();
            CREATE TRIGGER api_key_inserted AFTER INSERT ON api_key
                REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION keygate_rows_inserted();

            DROP TRIGGER key_secret_changed ON key_secret;
            CREATE TRIGGER key_secret_changed AFTER UPDATE OR DELETE ON key_secret
                FOR EACH ROW EXECUTE FUNCTION keygate_secret_changed();
            CREATE TRIGGER key_secret_inserted AFTER INSERT ON key_secret
                REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION keygate_rows_inserted();
            """),
        (7, "one index per event", """
            -- Ids are unique by construction (time and 77 random bits); only
            -- time-based and threshold events have a `once` key; pruning
            -- walks from the oldest by position.
            ALTER TABLE outbox_event DROP CONSTRAINT outbox_event_id_key;
            ALTER TABLE outbox_event DROP CONSTRAINT outbox_event_once_key;
            CREATE UNIQUE INDEX outbox_event_once ON outbox_event (once) WHERE once IS NOT NULL;
            DROP INDEX outbox_event_by_time;
            """),
        (8, "meter counts by version", """
            -- Each meter row carries the count version (count_log) of the
            -- write that last moved it: after a flush, verification reads the
            -- rows that moved in one range scan instead of reading each
            -- organization's count again.
            ALTER TABLE meter_usage ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
            CREATE INDEX meter_usage_by_version ON meter_usage (version);
            """),
        (9, "one change event per created key", """
            -- A key is inserted with its secret in the same transaction, and
            -- the secret's event already names the organization, the key and
            -- the digest: the key's own insert event said nothing more, and
            -- cost every creation and import batch a second move of the log's
            -- head, a pruning delete and a notification, whose commit takes a
            -- global lock. Deleting or changing a key still logs its own.
            -- keygate_rows_inserted keeps its branch for key rows, which no
            -- trigger reaches now: rewriting the function would only repeat
            -- migration 6's text.
            DROP TRIGGER api_key_inserted ON api_key;
            """),
        (10, "rate-limit tags computed by the server", """
            -- A key's rate-limit tag as every keygate process computes it
            -- (RateTag.of: FNV-1a, 64 bits, over the id's UTF-8 bytes, as a
            -- signed BIGINT), so that the statement reading a key on a
            -- cache miss also takes its first reservation. FNV multiplies
            -- modulo 2^64, and BIGINT arithmetic fails on overflow: the hash
            -- is kept as two 32-bit halves. Its prime is 2^40 + 435, so a
            -- product is each half times 435, the low half's carry, and the
            -- low half's bottom 24 bits shifted 40 places (into the high
            -- half); NUMERIC would need no halves, at three times the cost.
            CREATE FUNCTION keygate_tag(id TEXT) RETURNS BIGINT
            LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
            DECLARE
                bytes BYTEA := convert_to(id, 'UTF8');
                high BIGINT := 3421674724;  -- 0xcbf29ce4, the offset basis
                low BIGINT := 2216829733;   -- 0x84222325
                product BIGINT;
            BEGIN
                FOR i IN 0 .. length(bytes) - 1 LOOP
                    low := low # get_byte(bytes, i);
                    product := low * 435;
                    high := (high * 435 + (product >> 32) + ((low & 16777215) << 8)) & 4294967295;
                    low := product & 4294967295;
                END LOOP;
                RETURN (high << 32) | low;
            END;
            $$;
            """),
        (11, "the change log pruned by position, an import's events by index", """
            -- Positions are handed out one after another, so the events
            -- that leave the 65,536-event window with a statement's n new
            -- ones are exactly the n positions below it: deleted by key,
            -- where `seq <= last - 65536` could have the server walk, by
            -- bitmap scan, every entry left dead at the index's low end
            -- since the last vacuum (docs/PERFORMANCE.md, "keygate import").
            CREATE OR REPLACE FUNCTION keygate_change(organization TEXT, key TEXT, secret BYTEA) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE
                next BIGINT;
            BEGIN
                UPDATE change_head SET position = position + 1 WHERE id = 1 RETURNING position INTO next;
                INSERT INTO change_event (seq, organization_id, key_id, digest) VALUES (next, organization, key, secret);
                DELETE FROM change_event WHERE seq = next - 65536;
                PERFORM pg_notify('keygate_changes', current_schema() || ' ' || next::text);
            END;
            $$;

            CREATE OR REPLACE FUNCTION keygate_changes_logged(n BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
            DECLARE
                last BIGINT;
            BEGIN
                UPDATE change_head SET position = position + n WHERE id = 1 RETURNING position INTO last;
                DELETE FROM change_event WHERE seq > last - n - 65536 AND seq <= last - 65536;
                PERFORM pg_notify('keygate_changes', current_schema() || ' ' || last::text);
                RETURN last;
            END;
            $$;

            -- A batch of secrets names each key's organization by the key's
            -- index: joined, the planner (not knowing the statement's rows
            -- against a growing table) hashed every key row, for every
            -- import batch. Only secrets reach this trigger since migration 9.
            CREATE OR REPLACE FUNCTION keygate_rows_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                n BIGINT;
                last BIGINT;
            BEGIN
                SELECT count(*) INTO n FROM inserted;
                IF n = 0 THEN RETURN NULL; END IF;
                last := keygate_changes_logged(n);
                INSERT INTO change_event (seq, organization_id, key_id, digest)
                SELECT last - n + row_number() OVER (), (SELECT k.organization_id FROM api_key k WHERE k.id = s.key_id),
                       s.key_id, s.digest
                FROM inserted s;
                RETURN NULL;
            END;
            $$;

            -- Anything below the window a pruning before this one left.
            DELETE FROM change_event WHERE seq <= (SELECT position FROM change_head WHERE id = 1) - 65536;
            """),
        (12, "rate limits through a clock stepped back", """
            -- No reservation moves a key's time past the reserving host's
            -- now plus a minute. A time a little further ahead is another
            -- host's clock, or a reservation asked for a moment earlier and
            -- sent later, and is honoured. One more than a further minute
            -- ahead was set by a clock since stepped back: held to a minute
            -- ahead (the whole burst just used), the key waits a cell, not
            -- the length of the step (GCRA.admit does the same in process).
            CREATE OR REPLACE FUNCTION keygate_lease(p_tag BIGINT, p_now BIGINT, p_interval BIGINT, want INTEGER,
                                                     need INTEGER, give_back INTEGER)
            RETURNS TABLE (granted INTEGER, arrival BIGINT) LANGUAGE plpgsql AS $$
            DECLARE
                current BIGINT;
                free BIGINT;
                take INTEGER := 0;
            BEGIN
                INSERT INTO rate_limit (tag, arrival) VALUES (p_tag, 0) ON CONFLICT (tag) DO NOTHING;
                SELECT r.arrival INTO current FROM rate_limit r WHERE r.tag = p_tag FOR UPDATE;
                IF current > p_now + 120000000 THEN
                    current := p_now + 60000000;
                END IF;
                current := GREATEST(current - give_back * p_interval, p_now);
                free := (p_now + 60000000 - current) / p_interval;
                IF free >= need THEN
                    take := LEAST(free, want);
                END IF;
                current := current + take * p_interval;
                UPDATE rate_limit SET arrival = current WHERE tag = p_tag;
                RETURN QUERY SELECT take, current;
            END;
            $$;
            """),
        (13, "catalogs in use", """
            -- Each process records the catalog it serves with, so that
            -- hosts that load different ones (answering the same request
            -- differently) each learn of the other. A row per catalog, not
            -- per process: a few rows, written once a minute, no trigger
            -- (nothing verification holds depends on it).
            CREATE TABLE catalog_in_use (
                digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
                source TEXT NOT NULL,
                host TEXT NOT NULL,
                process_id INTEGER NOT NULL,
                seen_at BIGINT NOT NULL
            );
            """),
        (14, "reservations that outlast a forgotten row", """
            -- A key's row is deleted once its time is long past (the key
            -- quiet, or deleted): forgetIdleRateLimits, which skips rows a
            -- reservation holds. A reservation may still be waiting for a
            -- row the deletion holds, and then finds none: inserting first
            -- and updating a row that is gone would grant cells and record
            -- none. So the row is locked first and made when it is missing,
            -- until the lock holds one; a key in use, nearly every call,
            -- costs one locking read instead of an insert that conflicts
            -- and a locking read.
            CREATE OR REPLACE FUNCTION keygate_lease(p_tag BIGINT, p_now BIGINT, p_interval BIGINT, want INTEGER,
                                                     need INTEGER, give_back INTEGER)
            RETURNS TABLE (granted INTEGER, arrival BIGINT) LANGUAGE plpgsql AS $$
            DECLARE
                current BIGINT;
                free BIGINT;
                take INTEGER := 0;
            BEGIN
                LOOP
                    SELECT r.arrival INTO current FROM rate_limit r WHERE r.tag = p_tag FOR UPDATE;
                    EXIT WHEN FOUND;
                    INSERT INTO rate_limit (tag, arrival) VALUES (p_tag, 0) ON CONFLICT (tag) DO NOTHING;
                END LOOP;
                IF current > p_now + 120000000 THEN
                    current := p_now + 60000000;
                END IF;
                current := GREATEST(current - give_back * p_interval, p_now);
                free := (p_now + 60000000 - current) / p_interval;
                IF free >= need THEN
                    take := LEAST(free, want);
                END IF;
                current := current + take * p_interval;
                UPDATE rate_limit SET arrival = current WHERE tag = p_tag;
                RETURN QUERY SELECT take, current;
            END;
            $$;
            """),
        (15, "settings in use", """
            -- The catalog is one of several settings processes must agree
            -- on: one that keeps fewer days of usage or events than the
            -- others would fold or prune, for all of them, what they keep.
            -- A row per setting and value; the catalogs recorded so far
            -- move in as they are.
            CREATE TABLE setting_in_use (
                name TEXT NOT NULL CHECK (name <> ''),
                value TEXT NOT NULL,
                source TEXT NOT NULL,
                host TEXT NOT NULL,
                process_id INTEGER NOT NULL,
                seen_at BIGINT NOT NULL,
                PRIMARY KEY (name, value)
            );
            INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at)
                SELECT 'catalog', digest, source, host, process_id, seen_at FROM catalog_in_use;
            DROP TABLE catalog_in_use;
            """),
        (16, "settings of each process", """
            -- setting_in_use keeps a value's last process only: enough to
            -- tell that processes disagree, not which ones (during an
            -- upgrade: every process still on the version before). A row
            -- per process and setting, beside it; processes of version 15
            -- go on writing only that table, which stays what they agree by.
            CREATE TABLE process_setting (
                host TEXT NOT NULL,
                process_id INTEGER NOT NULL,
                name TEXT NOT NULL CHECK (name <> ''),
                value TEXT NOT NULL,
                source TEXT NOT NULL,
                seen_at BIGINT NOT NULL,
                PRIMARY KEY (host, process_id, name)
            );
            """),
        (17, "billing events as sent", """
            -- An event id was remembered with its organization and time
            -- only, so one reused for another event was answered as a
            -- replay and the change silently dropped. What the event said
            -- is kept too now, and a reuse refused; rows from before (and
            -- from a process of version 16 during an upgrade) have no plan,
            -- and only their organization and time are compared. Columns
            -- without a default: no row is rewritten.
            ALTER TABLE billing_event
                ADD COLUMN plan TEXT, ADD COLUMN status TEXT,
                ADD COLUMN period_start BIGINT, ADD COLUMN period_end BIGINT;
            """),
        (18, "usage records as sent", """
            -- An idempotency key was compared by meter and amount only, so
            -- a reservation sent under the key of a use recorded past the
            -- limit was told it fit. Whether the use asked to reserve is
            -- kept too now; rows from before (and from a process of version
            -- 17 during an upgrade) have none, and it is not compared. A
            -- column without a default: no row is rewritten.
            ALTER TABLE usage_record ADD COLUMN reserve BOOLEAN;
            """),
        (19, "rotated-out secrets keep their hint", """
            -- A secret a rotation leaves working for a grace period keeps
            -- the hint it had on its key, for the dashboard to name it
            -- (previousSecrets); one rotated out before has none. A column
            -- without a default: no row is rewritten.
            ALTER TABLE key_secret ADD COLUMN hint TEXT;
            """),
        (20, "key creations by idempotency key", """
            -- A dashboard that retries a keys.create whose answer was lost
            -- made a second key, counted against the plan, whose secret
            -- nobody holds. A creation under an idempotency key is
            -- remembered with the key it made and what it sent (NULL: left
            -- out for a default), until the retention of idempotency keys
            -- forgets it. No foreign key: the key may be deleted, and its
            -- creation still happened.
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
                expires_at BIGINT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (organization_id, idempotency_key)
            );
            """),
        (21, "key rotations by idempotency key", """
            -- A keys.rotate sent again (a retry on a timeout, a replayed
            -- job) replaced the secret the first call made, which its
            -- caller may have installed. A rotation under an idempotency
            -- key is remembered with the key and the grace it gave, as a
            -- creation is, and forgotten with it.
            CREATE TABLE key_rotation (
                organization_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                key_id TEXT NOT NULL,
                grace_period_seconds INTEGER NOT NULL CHECK (grace_period_seconds >= 0),
                rotated_at BIGINT NOT NULL,
                PRIMARY KEY (organization_id, idempotency_key)
            );
            """),
        (22, "each key's audit trail", """
            -- A key's page in the dashboard shows what was done to it
            -- (audit.list {keyId}), which the organization's index could
            -- find only by reading its whole log back. Subscription changes
            -- name no key and stay out of it. Building it reads the log
            -- once and holds back new entries (every change to a key)
            -- until it is built: about a second per million entries
            -- (docs/PERFORMANCE.md).
            CREATE INDEX audit_entry_by_key ON audit_entry (organization_id, key_id, id) WHERE key_id IS NOT NULL;
            """),
        (23, "how far events were pruned", """
            -- A reader of the outbox that fell further behind than the
            -- event retention went on past the events the sweep deleted as
            -- if there had been none. The sweep now records, for each
            -- organization and for all of them ('' names all), the last
            -- position it deleted, so a cursor before it is told
            -- (cursor_expired). Prunings before this migration, and by
            -- processes of an earlier version, are not recorded.
            CREATE TABLE outbox_pruned (
                organization_id TEXT PRIMARY KEY,
                through BIGINT NOT NULL CHECK (through > 0)
            );
            """),
        (24, "an erasure logs its changes in one step", """
            -- Erasing an organization deletes its keys, their secrets and
            -- its subscription in statements of thousands of rows. Logged a
            -- row at a time, each deletion moved the change head once more
            -- in one transaction, each move stepping over every version the
            -- earlier ones had left of its row: 10,000 keys took 5.7 s,
            -- every host's key changes waiting on the head meanwhile. An
            -- erasure sets keygate.erasing for its deletions and logs what
            -- it deleted itself, in one move of the head.
            -- (An AFTER trigger's return is ignored.)
            CREATE OR REPLACE FUNCTION keygate_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'DELETE' THEN
                    PERFORM keygate_change(NEW.organization_id, NEW.id, NULL);
                ELSIF current_setting('keygate.erasing', true) IS DISTINCT FROM 'on' THEN
                    PERFORM keygate_change(OLD.organization_id, OLD.id, NULL);
                END IF;
                RETURN NULL;
            END;
            $$;
            CREATE OR REPLACE FUNCTION keygate_secret_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'DELETE' THEN
                    PERFORM keygate_change((SELECT organization_id FROM api_key WHERE id = NEW.key_id), NEW.key_id, NEW.digest);
                ELSIF current_setting('keygate.erasing', true) IS DISTINCT FROM 'on' THEN
                    PERFORM keygate_change((SELECT organization_id FROM api_key WHERE id = OLD.key_id), OLD.key_id, NULL);
                END IF;
                RETURN NULL;
            END;
            $$;
            CREATE OR REPLACE FUNCTION keygate_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'DELETE' THEN
                    PERFORM keygate_change(NEW.organization_id, NULL, NULL);
                ELSIF current_setting('keygate.erasing', true) IS DISTINCT FROM 'on' THEN
                    PERFORM keygate_change(OLD.organization_id, NULL, NULL);
                END IF;
                RETURN NULL;
            END;
            $$;
            """),
        (25, "deletions logged a statement at a time", """
            -- Erasing an organization deletes thousands of keys in one
            -- statement. Logged a row at a time (a key, then each of its
            -- secrets as the cascade deleted it), each deletion moved the
            -- change head once more in one transaction, each move stepping
            -- over every version the earlier ones had left of its row:
            -- 10,000 keys took 5.7 s, every host's key changes waiting on
            -- the head meanwhile. Schema 24 had an erasure set
            -- keygate.erasing and log its deletions itself; instead, deleted
            -- keys are now logged as inserted ones are, a statement's in one
            -- move, wherever they are deleted from; and a deleted secret
            -- only while its key stands: a key's own entry already makes
            -- every host forget all of its secrets. The row functions lose
            -- schema 24's setting, which nothing sets any more, and the key's
            -- and the secret's their deletion branch, which no trigger
            -- reaches now. (An AFTER trigger's return is ignored.)
            CREATE OR REPLACE FUNCTION keygate_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM keygate_change(NEW.organization_id, NEW.id, NULL);
                RETURN NULL;
            END;
            $$;
            CREATE OR REPLACE FUNCTION keygate_secret_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM keygate_change((SELECT organization_id FROM api_key WHERE id = NEW.key_id), NEW.key_id, NEW.digest);
                RETURN NULL;
            END;
            $$;
            CREATE OR REPLACE FUNCTION keygate_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM keygate_change(OLD.organization_id, NULL, NULL);
                ELSE
                    PERFORM keygate_change(NEW.organization_id, NULL, NULL);
                END IF;
                RETURN NULL;
            END;
            $$;

            CREATE FUNCTION keygate_rows_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                n BIGINT;
                last BIGINT;
            BEGIN
                IF TG_TABLE_NAME = 'api_key' THEN
                    SELECT count(*) INTO n FROM deleted;
                    IF n = 0 THEN RETURN NULL; END IF;
                    last := keygate_changes_logged(n);
                    INSERT INTO change_event (seq, organization_id, key_id, digest)
                    SELECT last - n + row_number() OVER (), organization_id, id, NULL FROM deleted;
                ELSE
                    SELECT count(*) INTO n FROM deleted s JOIN api_key k ON k.id = s.key_id;
                    IF n = 0 THEN RETURN NULL; END IF;
                    last := keygate_changes_logged(n);
                    INSERT INTO change_event (seq, organization_id, key_id, digest)
                    SELECT last - n + row_number() OVER (), k.organization_id, s.key_id, NULL
                    FROM deleted s JOIN api_key k ON k.id = s.key_id;
                END IF;
                RETURN NULL;
            END;
            $$;

            DROP TRIGGER api_key_deleted ON api_key;
            CREATE TRIGGER api_key_deleted AFTER DELETE ON api_key
                REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION keygate_rows_deleted();

            DROP TRIGGER key_secret_changed ON key_secret;
            CREATE TRIGGER key_secret_changed AFTER UPDATE ON key_secret
                FOR EACH ROW EXECUTE FUNCTION keygate_secret_changed();
            CREATE TRIGGER key_secret_deleted AFTER DELETE ON key_secret
                REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION keygate_rows_deleted();
            """),
        (26, "erasures marked in the change log", """
            -- A host that counted verifications of an organization's keys
            -- before learning of its erasure wrote them after it, and the
            -- organization's request count came back. Marked, the erasure's
            -- entry tells each host to drop what it holds of the
            -- organization's counts, and tells a flush that took counts
            -- before that entry not to write them. A column with a constant
            -- default: no table rewrite. Erasures by hosts of an earlier
            -- version are not marked.
            ALTER TABLE change_event ADD COLUMN erased BOOLEAN NOT NULL DEFAULT false;
            """),
        (27, "billing event ids by organization", """
            -- An erasure deletes an organization's billing event ids, which
            -- only their id found: it read the whole table, every
            -- organization's ids since the first (kept for good by
            -- default), holding the organization's lock meanwhile. Billing
            -- events are few, and each now writes one more index entry;
            -- they wait while the index is built.
            CREATE INDEX billing_event_by_organization ON billing_event (organization_id);
            """),
        (28, "reservations for many keys in one statement", """
            -- keygate_lease reserved for one key with two statements of its
            -- own, so a statement reserving for 500 keys ran 1,000 small ones
            -- (about 12 µs a key on the server, docs/PERFORMANCE.md). One
            -- INSERT ... ON CONFLICT DO UPDATE now reserves for all of them,
            -- the keys in tag order: a missing row (a key never reserved
            -- for, or one forgotten while idle) is made with the request's
            -- cells, and a row being deleted meanwhile is waited for and made
            -- again, as the server guarantees an insert or an update. The
            -- update sees only the row and the proposed one, so each row keeps
            -- the request that last changed it (when, the time a cell takes,
            -- cells asked for, given back and granted) and the statement
            -- returns what it granted. Columns without a default: no rewrite.
            ALTER TABLE rate_limit
                ADD COLUMN reserved_at BIGINT, ADD COLUMN step BIGINT, ADD COLUMN asked INTEGER,
                ADD COLUMN given_back INTEGER, ADD COLUMN granted INTEGER;

            -- The arithmetic of migrations 12 and 14, for one key whose time
            -- is `arrival` (0 for a key with no row): its time once the cells
            -- given back are returned, never before `now`, and held to a
            -- minute ahead when a clock stepped back left it further.
            -- Expressions the planner writes into the statement (inlined
            -- SQL): no call per row.
            CREATE FUNCTION keygate_reservation_start(arrival BIGINT, now BIGINT, step BIGINT, given_back INTEGER)
            RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT GREATEST(CASE WHEN arrival > now + 120000000 THEN now + 60000000 ELSE arrival END
                                - given_back * step, now)
            $$;
            -- Up to `asked` of the cells free within a minute of `now`, if at
            -- least `need` are; else none.
            CREATE FUNCTION keygate_reservation_cells(arrival BIGINT, now BIGINT, step BIGINT, asked INTEGER,
                                                      need INTEGER, given_back INTEGER)
            RETURNS INTEGER LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT CASE WHEN (now + 60000000 - keygate_reservation_start(arrival, now, step, given_back)) / step >= need
                    THEN LEAST((now + 60000000 - keygate_reservation_start(arrival, now, step, given_back)) / step,
                               asked)::integer
                    ELSE 0 END
            $$;
            -- The key's time after them.
            CREATE FUNCTION keygate_reservation_end(arrival BIGINT, now BIGINT, step BIGINT, asked INTEGER,
                                                    need INTEGER, given_back INTEGER)
            RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT keygate_reservation_start(arrival, now, step, given_back)
                    + keygate_reservation_cells(arrival, now, step, asked, need, given_back) * step
            $$;

            -- Processes of version 27, during an upgrade, still reserve a key
            -- at a time through keygate_lease: the same statement for them.
            CREATE OR REPLACE FUNCTION keygate_lease(p_tag BIGINT, p_now BIGINT, p_interval BIGINT, want INTEGER,
                                                     need INTEGER, give_back INTEGER)
            RETURNS TABLE (granted INTEGER, arrival BIGINT) LANGUAGE plpgsql AS $$
            BEGIN
                RETURN QUERY
                INSERT INTO rate_limit AS r (tag, reserved_at, step, asked, given_back, granted, arrival)
                VALUES (p_tag, p_now, p_interval, want, give_back,
                        keygate_reservation_cells(0, p_now, p_interval, want, need, give_back),
                        keygate_reservation_end(0, p_now, p_interval, want, need, give_back))
                ON CONFLICT (tag) DO UPDATE SET
                    reserved_at = p_now, step = p_interval, asked = want, given_back = give_back,
                    granted = keygate_reservation_cells(r.arrival, p_now, p_interval, want, need, give_back),
                    arrival = keygate_reservation_end(r.arrival, p_now, p_interval, want, need, give_back)
                RETURNING r.granted, r.arrival;
            END;
            $$;
            """),
    ]
}
