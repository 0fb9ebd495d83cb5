-- Per-user period totals for the spend ranking (docs/insight.md): the top of a period is read from
-- an index instead of summing one period of the rollup for every user.
--
-- One row per (user, period kind, period start, slot). All three kinds are kept, so changing the
-- configured period needs no rebuild. Periods are calendar-aligned in UTC like
-- spendlimits.limits.periods: a day, a week from Monday, a month from the 1st. Totals are over all
-- organizations (the ranking's bound is a user's whole spend); deleted users are filtered at read.
-- Slots as in the daily rollup (migration 000003): writers add to the slot of their backend, so
-- concurrent writers of one user do not queue on one month row; a total is the sum over slots.
CREATE TABLE chat_spend_period_totals (
    user_id      uuid     NOT NULL REFERENCES users (id),
    period       text     NOT NULL CHECK (period IN ('day', 'week', 'month')),
    period_start date     NOT NULL,
    slot         smallint NOT NULL CHECK (slot BETWEEN 0 AND 7),
    spend_micros bigint   NOT NULL CHECK (spend_micros >= 0),
    -- A user's total is a sum over this key's slots: read from the index alone (spend_micros is
    -- in the other index's key, so no update of it is HOT anyway). The period leads, so one
    -- period's rows come in user order: summing a whole period (the share filter) streams through
    -- the index instead of hashing 300k rows; users are soft-deleted, so the foreign key needs no
    -- index of its own.
    PRIMARY KEY (period, period_start, user_id, slot) INCLUDE (spend_micros),
    CHECK (period_start = CASE period
        WHEN 'day' THEN period_start
        WHEN 'week' THEN date_trunc('week', period_start::timestamp)::date
        ELSE date_trunc('month', period_start::timestamp)::date
    END)
);
-- The top of a period: slot rows by spend, highest first (the ranking's threshold scan).
CREATE INDEX chat_spend_period_totals_top_idx
    ON chat_spend_period_totals (period, period_start, spend_micros DESC) INCLUDE (user_id);

-- What the ranking reads besides the totals, each in one index probe instead of a scan of every
-- user: the lowest own override of a live user (a bound of everyone's share), and the deleted users
-- (live members of an organization = its members - its deleted members).
CREATE INDEX users_override_lowest_idx ON users (chat_spend_limit_micros)
    WHERE chat_spend_limit_micros IS NOT NULL AND NOT deleted;
CREATE INDEX users_deleted_idx ON users (id) WHERE deleted;

-- No writer may change the rollup between the backfill below and the new trigger function: both
-- commit with this migration. Messages first: a writer whose statement had already started would
-- otherwise run the old trigger function after the backfill and leave the totals behind.
LOCK TABLE chat_messages IN SHARE MODE;
LOCK TABLE chat_spend_daily IN SHARE MODE;

-- The daily rollup and the period totals, kept by one statement trigger: the transition table is
-- aggregated once into per-(user, day, organization) deltas, from which both tables are upserted.
-- Lock order, the same for every writer: daily rows in key order, then period rows in key order.
-- As in 000003, only a net decrease folds a key's slots into slot 0 (under a per-key advisory
-- lock) before subtracting, so no row goes below zero.
CREATE OR REPLACE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    my_slot  smallint := pg_backend_pid() % 8;
    users    uuid[];
    days     date[];
    orgs     uuid[];
    deltas   bigint[];
    t_users   uuid[];
    t_periods text[];
    t_starts  date[];
    t_deltas  bigint[];
    fold_key record;
BEGIN
    -- Inserts, the hot path, only add: one statement aggregates the new rows once and upserts the
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

-- Backfill from the rollup (summed over its slots and organizations), into slot 0.
INSERT INTO chat_spend_period_totals (user_id, period, period_start, slot, spend_micros)
SELECT d.user_id, p.period, p.period_start, 0, sum(d.spend_micros)
FROM chat_spend_daily d
CROSS JOIN LATERAL (VALUES
    ('day', d.day),
    ('week', date_trunc('week', d.day::timestamp)::date),
    ('month', date_trunc('month', d.day::timestamp)::date)) AS p(period, period_start)
GROUP BY 1, 2, 3;
