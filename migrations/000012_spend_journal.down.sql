-- Back to migration 000011: the journal folded into the rollup, the views replaced by the tables
-- again (with their slot, every row in slot 0), and 000011's trigger function.

LOCK TABLE chat_messages IN SHARE MODE;
SELECT spendlimits_fold_spend_journal();
-- A fold that could not take the folder's lock would leave rows behind: refuse rather than lose them.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM chat_spend_journal) THEN
        RAISE EXCEPTION 'the spend journal could not be folded (another folder holds its lock); retry';
    END IF;
END;
$$;
DROP FUNCTION spendlimits_fold_spend_journal();
DROP VIEW chat_spend_daily;
DROP VIEW chat_spend_period_totals;
DROP TABLE chat_spend_journal;

ALTER TABLE chat_spend_daily_folded DROP CONSTRAINT chat_spend_daily_folded_pkey;
ALTER TABLE chat_spend_daily_folded RENAME TO chat_spend_daily;
ALTER TABLE chat_spend_daily
    ADD COLUMN slot smallint NOT NULL DEFAULT 0 CONSTRAINT chat_spend_daily_slot_check CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE chat_spend_daily ADD PRIMARY KEY (user_id, day, organization_id, slot);

ALTER TABLE chat_spend_period_totals_folded DROP CONSTRAINT chat_spend_period_totals_folded_pkey;
ALTER TABLE chat_spend_period_totals_folded RENAME TO chat_spend_period_totals;
ALTER TABLE chat_spend_period_totals
    ADD COLUMN slot smallint NOT NULL DEFAULT 0 CONSTRAINT chat_spend_period_totals_slot_check CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE chat_spend_period_totals ALTER COLUMN slot DROP DEFAULT;
ALTER TABLE chat_spend_period_totals ADD PRIMARY KEY (period, period_start, user_id, slot) INCLUDE (spend_micros);

CREATE OR REPLACE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Slot rows per key at most (the ranking's SLOTS, src/spendlimits/insight/ranking.py).
    slots    CONSTANT smallint := 8;
    my_slot  smallint := pg_backend_pid() % slots;
    users    uuid[];
    days     date[];
    orgs     uuid[];
    deltas   bigint[];
    t_users   uuid[];
    t_periods text[];
    t_starts  date[];
    t_deltas  bigint[];
    fold_key record;
    one_user  uuid;
    one_org   uuid;
    one_day   date;
    one_cost  bigint;
    one_rows  bigint;
    user_key  integer;
BEGIN
    -- One-row INSERTs (a message recorded or settled, the hot path) take a path of plain
    -- statements: no aggregate, sort or CTE to set up for one row, and a slot that no concurrent
    -- writer of the user holds. A statement trigger sees its rows only through new_rows, so the
    -- count comes along with the row.
    IF TG_OP = 'INSERT' THEN
        -- At most two rows are read: enough to tell one from many.
        SELECT x.owner_id, x.organization_id, x.day, x.cost, count(*) OVER ()
        INTO one_user, one_org, one_day, one_cost, one_rows
        FROM (SELECT c.owner_id, c.organization_id, (m.created_at AT TIME ZONE 'UTC')::date AS day,
                     m.total_cost_micros AS cost
              FROM new_rows m JOIN chats c ON c.id = m.chat_id
              LIMIT 2) x;
        IF one_rows = 1 THEN
            IF one_cost IS NULL THEN
                RETURN NULL;  -- unpriced: not counted toward spend
            END IF;
            -- The first slot, from this backend's own on, whose (user, slot) lock no other
            -- transaction holds: concurrent writers of one user then add to different rows instead
            -- of waiting for each other's commit whenever their pids collide. Only tried, never
            -- waited for; when every slot is held, the backend's own slot (and its row lock) it is.
            -- The lock is this transaction's until it ends, like the row locks it stands for.
            user_key := hashtext(one_user::text);
            FOR i IN 0 .. slots - 1 LOOP
                IF pg_try_advisory_xact_lock(
                        1397772883,  -- 0x53505253, "SPRS": rollup slots taken by one-row inserts
                        user_key # ((my_slot + i) % slots)) THEN
                    my_slot := (my_slot + i) % slots;
                    EXIT;
                END IF;
            END LOOP;
            -- The same rows, in the same order (daily row, then period rows by key), as the
            -- general path below.
            INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
            VALUES (one_user, one_day, one_org, my_slot, one_cost)
            ON CONFLICT (user_id, day, organization_id, slot)
            DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;
            INSERT INTO chat_spend_period_totals AS t (user_id, period, period_start, slot, spend_micros)
            SELECT one_user, p.period, p.period_start, my_slot, one_cost
            FROM (VALUES
                ('day', one_day),
                ('week', date_trunc('week', one_day::timestamp)::date),
                ('month', date_trunc('month', one_day::timestamp)::date)) AS p(period, period_start)
            ORDER BY 2, 3
            ON CONFLICT (user_id, period, period_start, slot)
            DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros;
            RETURN NULL;
        END IF;
    END IF;

    -- Batches of inserts only add: one statement aggregates the new rows once and upserts the
    -- daily rows, then (the main statement reads the daily CTE's count first, so the daily rows are
    -- always locked before the period rows, as on the other paths) each user's day, week and month.
    IF TG_OP = 'INSERT' THEN
        WITH added AS (
            SELECT c.owner_id AS user_id, (m.created_at AT TIME ZONE 'UTC')::date AS day,
                   c.organization_id, sum(m.total_cost_micros) AS delta
            FROM new_rows m JOIN chats c ON c.id = m.chat_id
            WHERE m.total_cost_micros IS NOT NULL
            GROUP BY 1, 2, 3
        ),
        daily AS (
            INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
            SELECT a.user_id, a.day, a.organization_id, my_slot, a.delta
            FROM added a
            -- A fixed order keeps concurrent batches from deadlocking on each other's rows.
            ORDER BY 1, 2, 3
            ON CONFLICT (user_id, day, organization_id, slot)
            DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros
            RETURNING 1
        )
        INSERT INTO chat_spend_period_totals AS t (user_id, period, period_start, slot, spend_micros)
        SELECT a.user_id, p.period, p.period_start, my_slot, sum(a.delta)
        FROM added a
        CROSS JOIN LATERAL (VALUES
            ('day', a.day),
            ('week', date_trunc('week', a.day::timestamp)::date),
            ('month', date_trunc('month', a.day::timestamp)::date)) AS p(period, period_start)
        WHERE (SELECT count(*) FROM daily) >= 0
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT (user_id, period, period_start, slot)
        DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros;
        RETURN NULL;
    END IF;

    -- UPDATE or DELETE: the net change per daily key (a soft delete changes nothing and writes
    -- nothing).
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(x.owner_id ORDER BY x.owner_id, x.day, x.organization_id),
               array_agg(x.day ORDER BY x.owner_id, x.day, x.organization_id),
               array_agg(x.organization_id ORDER BY x.owner_id, x.day, x.organization_id),
               array_agg(x.delta ORDER BY x.owner_id, x.day, x.organization_id)
        INTO users, days, orgs, deltas
        FROM (
            SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date AS day, c.organization_id,
                   sum(m.cost) AS delta
            FROM (SELECT chat_id, created_at, total_cost_micros AS cost FROM new_rows
                  UNION ALL
                  SELECT chat_id, created_at, -total_cost_micros FROM old_rows) m
            JOIN chats c ON c.id = m.chat_id
            WHERE m.cost IS NOT NULL
            GROUP BY 1, 2, 3
            HAVING sum(m.cost) <> 0
        ) x;
    ELSE
        SELECT array_agg(x.owner_id ORDER BY x.owner_id, x.day, x.organization_id),
               array_agg(x.day ORDER BY x.owner_id, x.day, x.organization_id),
               array_agg(x.organization_id ORDER BY x.owner_id, x.day, x.organization_id),
               array_agg(x.delta ORDER BY x.owner_id, x.day, x.organization_id)
        INTO users, days, orgs, deltas
        FROM (
            SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date AS day, c.organization_id,
                   -sum(m.total_cost_micros) AS delta
            FROM old_rows m JOIN chats c ON c.id = m.chat_id
            WHERE m.total_cost_micros IS NOT NULL
            GROUP BY 1, 2, 3
            HAVING sum(m.total_cost_micros) <> 0
        ) x;
    END IF;
    IF users IS NULL THEN
        RETURN NULL;
    END IF;

    -- The net change per period key: each daily delta counts in its day, its week and its month
    -- (a message moved within a month changes its days, not its month).
    SELECT array_agg(x.user_id ORDER BY x.user_id, x.period, x.period_start),
           array_agg(x.period ORDER BY x.user_id, x.period, x.period_start),
           array_agg(x.period_start ORDER BY x.user_id, x.period, x.period_start),
           array_agg(x.delta ORDER BY x.user_id, x.period, x.period_start)
    INTO t_users, t_periods, t_starts, t_deltas
    FROM (
        SELECT k.user_id, p.period, p.period_start, sum(k.delta) AS delta
        FROM unnest(users, days, deltas) AS k(user_id, day, delta)
        CROSS JOIN LATERAL (VALUES
            ('day', k.day),
            ('week', date_trunc('week', k.day::timestamp)::date),
            ('month', date_trunc('month', k.day::timestamp)::date)) AS p(period, period_start)
        GROUP BY 1, 2, 3
        HAVING sum(k.delta) <> 0
    ) x;

    -- Increases: add to this backend's slot, in key order (arrays are sorted).
    INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
    SELECT k.user_id, k.day, k.organization_id, my_slot, k.delta
    FROM unnest(users, days, orgs, deltas) AS k(user_id, day, organization_id, delta)
    WHERE k.delta > 0
    ON CONFLICT (user_id, day, organization_id, slot)
    DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;

    IF t_users IS NOT NULL THEN
        INSERT INTO chat_spend_period_totals AS t (user_id, period, period_start, slot, spend_micros)
        SELECT k.user_id, k.period, k.period_start, my_slot, k.delta
        FROM unnest(t_users, t_periods, t_starts, t_deltas) AS k(user_id, period, period_start, delta)
        WHERE k.delta > 0
        ON CONFLICT (user_id, period, period_start, slot)
        DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros;
    END IF;

    -- Decreases of the daily rollup. Two sessions folding the same key deadlocked (seen under 16
    -- writers): each had deleted some of the key's slots and waited for the other's. Folders of a
    -- key take its lock first, in key order; writers that only add never fold, so they never wait
    -- on this lock.
    FOR fold_key IN
        SELECT x.user_id, x.day, x.organization_id
        FROM unnest(users, days, orgs, deltas) AS x(user_id, day, organization_id, delta)
        WHERE x.delta < 0
        ORDER BY 1, 2, 3
    LOOP
        PERFORM pg_advisory_xact_lock(
            1397772868,  -- 0x53505244, "SPRD": rollup folds, apart from the reservations' locks
            hashtext(fold_key.user_id::text || '/' || fold_key.day::text || '/' || fold_key.organization_id::text));
    END LOOP;

    WITH decreased AS (
        SELECT k.user_id, k.day, k.organization_id
        FROM unnest(users, days, orgs, deltas) AS k(user_id, day, organization_id, delta)
        WHERE k.delta < 0
    ),
    folded AS (
        DELETE FROM chat_spend_daily d USING decreased k
        WHERE d.user_id = k.user_id AND d.day = k.day AND d.organization_id = k.organization_id
          AND d.slot <> 0
        RETURNING d.user_id, d.day, d.organization_id, d.spend_micros
    )
    INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
    SELECT f.user_id, f.day, f.organization_id, 0, sum(f.spend_micros)
    FROM folded f
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (user_id, day, organization_id, slot)
    DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;

    UPDATE chat_spend_daily d
    SET spend_micros = d.spend_micros + k.delta
    FROM unnest(users, days, orgs, deltas) AS k(user_id, day, organization_id, delta)
    WHERE k.delta < 0
      AND d.user_id = k.user_id AND d.day = k.day AND d.organization_id = k.organization_id
      AND d.slot = 0;

    -- Decreases of the period totals: the same fold, under a lock of its own per period key.
    IF t_users IS NULL THEN
        RETURN NULL;
    END IF;
    FOR fold_key IN
        SELECT x.user_id, x.period, x.period_start
        FROM unnest(t_users, t_periods, t_starts, t_deltas) AS x(user_id, period, period_start, delta)
        WHERE x.delta < 0
        ORDER BY 1, 2, 3
    LOOP
        PERFORM pg_advisory_xact_lock(
            1397772884,  -- 0x53505254, "SPRT": period-total folds
            hashtext(fold_key.user_id::text || '/' || fold_key.period || '/' || fold_key.period_start::text));
    END LOOP;

    WITH decreased AS (
        SELECT k.user_id, k.period, k.period_start
        FROM unnest(t_users, t_periods, t_starts, t_deltas) AS k(user_id, period, period_start, delta)
        WHERE k.delta < 0
    ),
    folded AS (
        DELETE FROM chat_spend_period_totals t USING decreased k
        WHERE t.user_id = k.user_id AND t.period = k.period AND t.period_start = k.period_start
          AND t.slot <> 0
        RETURNING t.user_id, t.period, t.period_start, t.spend_micros
    )
    INSERT INTO chat_spend_period_totals AS t (user_id, period, period_start, slot, spend_micros)
    SELECT f.user_id, f.period, f.period_start, 0, sum(f.spend_micros)
    FROM folded f
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (user_id, period, period_start, slot)
    DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros;

    UPDATE chat_spend_period_totals t
    SET spend_micros = t.spend_micros + k.delta
    FROM unnest(t_users, t_periods, t_starts, t_deltas) AS k(user_id, period, period_start, delta)
    WHERE k.delta < 0
      AND t.user_id = k.user_id AND t.period = k.period AND t.period_start = k.period_start
      AND t.slot = 0;
    RETURN NULL;
END;
$$;
