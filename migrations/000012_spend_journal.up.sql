-- The spend rollup leaves the writers' transactions (issue #10; docs/spend-journal.md).
--
-- Until now every message write upserted four rollup rows (its day, and its user's day, week and
-- month totals) in the writer's own transaction. Concurrent writers of one user shared those rows
-- or, with slots, a handful of them, and every update was a new row version plus index entries that
-- the next upsert's probe walked. 16 writers of one user reached 0.37-0.59 of plain inserts; an
-- append of one row per write measured 0.77-0.90 (BENCHMARKS.md).
--
-- So writers now append, and nothing else:
--   chat_spend_journal           one row per (user, UTC day, organization) and statement: the net
--                                change of spend, negative for a lowered cost or a deleted message;
--   chat_spend_daily_folded      the daily rollup up to what has been folded, one row per key;
--   chat_spend_period_totals_folded  the per-user day / week / month totals, one row per key;
--   chat_spend_daily, chat_spend_period_totals
--                                views: the folded rows UNION ALL the journal, so every reader's SQL
--                                stays as it was, and stays exact within one statement's snapshot.
-- spendlimits_fold_spend_journal() moves the journal into the folded rows: the server calls it in
-- the background (SPENDLIMITS_FOLD_INTERVAL_MS). Exactness never depends on it running; only the
-- journal's length, and so what a reader pays for it, does.
--
-- The folder is the only writer of the folded tables, so they need no slots: the slots of 000003
-- are folded into one row per key here, which also leaves the ranking one row per user and period
-- to scan instead of up to eight.

-- No writer may run the old trigger function after the rows below are folded: writers queue on
-- chat_messages until this migration commits; readers carry on.
LOCK TABLE chat_messages IN SHARE MODE;
LOCK TABLE chat_spend_daily IN SHARE MODE;
LOCK TABLE chat_spend_period_totals IN SHARE MODE;

-- One row per key: each key's slots summed into slot 0, then the slot leaves the key.
WITH gone AS (
    DELETE FROM chat_spend_daily WHERE slot <> 0
    RETURNING user_id, day, organization_id, spend_micros
)
INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
SELECT user_id, day, organization_id, 0, sum(spend_micros) FROM gone GROUP BY 1, 2, 3
ON CONFLICT (user_id, day, organization_id, slot)
DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;

WITH gone AS (
    DELETE FROM chat_spend_period_totals WHERE slot <> 0
    RETURNING user_id, period, period_start, spend_micros
)
INSERT INTO chat_spend_period_totals AS t (user_id, period, period_start, slot, spend_micros)
SELECT user_id, period, period_start, 0, sum(spend_micros) FROM gone GROUP BY 1, 2, 3
ON CONFLICT (user_id, period, period_start, slot)
DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros;

ALTER TABLE chat_spend_daily DROP CONSTRAINT chat_spend_daily_pkey;
ALTER TABLE chat_spend_daily DROP COLUMN slot;
ALTER TABLE chat_spend_daily RENAME TO chat_spend_daily_folded;
ALTER TABLE chat_spend_daily_folded
    ADD CONSTRAINT chat_spend_daily_folded_pkey PRIMARY KEY (user_id, day, organization_id);

ALTER TABLE chat_spend_period_totals DROP CONSTRAINT chat_spend_period_totals_pkey;
ALTER TABLE chat_spend_period_totals DROP COLUMN slot;
ALTER TABLE chat_spend_period_totals RENAME TO chat_spend_period_totals_folded;
-- The period leads, as before: one period's rows come in user order from the index alone.
ALTER TABLE chat_spend_period_totals_folded
    ADD CONSTRAINT chat_spend_period_totals_folded_pkey
    PRIMARY KEY (period, period_start, user_id) INCLUDE (spend_micros);

-- The journal: what writers append. No primary key and no foreign keys: each would be one more
-- index entry or a share lock on the user's row per write, taken by every concurrent writer of the
-- user; the rows come from messages whose chats reference their user and organization, and the
-- folded tables keep those foreign keys. The user's index is what a decision reads (one probe for
-- the user's rows not yet folded). A queue table: rows live for a fold interval, so autovacuum
-- is told to visit it by its dead rows alone, not by a fraction of a size it never keeps.
CREATE TABLE chat_spend_journal (
    user_id         uuid   NOT NULL,
    day             date   NOT NULL,
    organization_id uuid   NOT NULL,
    delta_micros    bigint NOT NULL CHECK (delta_micros <> 0)
) WITH (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 10000
);
CREATE INDEX chat_spend_journal_user_idx ON chat_spend_journal (user_id);

-- Readers: the folded rows and the rows not yet folded. A key may have several rows (a folded one
-- and journal rows, which may be negative): every reader sums, as it summed over slots.
CREATE VIEW chat_spend_daily AS
    SELECT user_id, day, organization_id, spend_micros FROM chat_spend_daily_folded
    UNION ALL
    SELECT user_id, day, organization_id, delta_micros FROM chat_spend_journal;

CREATE VIEW chat_spend_period_totals AS
    SELECT user_id, period, period_start, spend_micros FROM chat_spend_period_totals_folded
    UNION ALL
    SELECT j.user_id, p.period, p.period_start, j.delta_micros
    FROM chat_spend_journal j
    CROSS JOIN LATERAL (VALUES
        ('day', j.day),
        ('week', date_trunc('week', j.day::timestamp)::date),
        ('month', date_trunc('month', j.day::timestamp)::date)) AS p(period, period_start);

-- Every write of messages appends its net change per (user, day, organization), one row per key
-- and statement; unpriced costs count nothing, and a change that nets to zero (a soft delete, a
-- cost rewritten to itself) appends nothing.
CREATE OR REPLACE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id,
               sum(m.total_cost_micros)
        FROM new_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL
        GROUP BY 1, 2, 3
        HAVING sum(m.total_cost_micros) <> 0;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, sum(m.cost)
        FROM (SELECT chat_id, created_at, total_cost_micros AS cost FROM new_rows
              UNION ALL
              SELECT chat_id, created_at, -total_cost_micros FROM old_rows) m
        JOIN chats c ON c.id = m.chat_id
        WHERE m.cost IS NOT NULL
        GROUP BY 1, 2, 3
        HAVING sum(m.cost) <> 0;
    ELSE
        INSERT INTO chat_spend_journal (user_id, day, organization_id, delta_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id,
               -sum(m.total_cost_micros)
        FROM old_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL
        GROUP BY 1, 2, 3
        HAVING sum(m.total_cost_micros) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

-- Moves every journal row this statement sees into the folded rows, in one transaction, and
-- returns how many it moved; NULL when another session is folding (they would only queue on each
-- other's rows).
--
-- Why every visible row and not a batch of them: a decrease is journaled by a transaction that
-- saw its message's insert committed, so whenever a fold sees the decrease it also sees the
-- increase it undoes, and no folded row goes below zero (the CHECK stays). An arbitrary batch could
-- take the decrease alone. The journal holds what was written since the last fold, so this is small
-- unless nothing folded for a long time (then one longer fold catches up; readers are never blocked,
-- writers only append).
--
-- Increases are upserted, decreases are updates of rows that must exist: an upsert checks the
-- CHECK (spend_micros >= 0) on the row it proposes before it finds the conflict, so a negative
-- delta cannot ride in it. A decrease whose row is missing would be lost without a word, so the fold
-- counts them and fails instead (its transaction, journal rows included, rolls back).
CREATE FUNCTION spendlimits_fold_spend_journal() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
    missing bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(
            1397772874) THEN  -- 0x5350524A, "SPRJ": the one folder of the spend journal
        RETURN NULL;
    END IF;
    WITH taken AS (
        DELETE FROM chat_spend_journal
        RETURNING user_id, day, organization_id, delta_micros
    ),
    daily AS (
        SELECT user_id, day, organization_id, sum(delta_micros)::bigint AS delta
        FROM taken
        GROUP BY 1, 2, 3
        HAVING sum(delta_micros) <> 0
    ),
    totals AS (
        SELECT j.user_id, p.period, p.period_start, sum(j.delta_micros)::bigint AS delta
        FROM taken j
        CROSS JOIN LATERAL (VALUES
            ('day', j.day),
            ('week', date_trunc('week', j.day::timestamp)::date),
            ('month', date_trunc('month', j.day::timestamp)::date)) AS p(period, period_start)
        GROUP BY 1, 2, 3
        HAVING sum(j.delta_micros) <> 0
    ),
    daily_up AS (
        INSERT INTO chat_spend_daily_folded AS d (user_id, day, organization_id, spend_micros)
        SELECT user_id, day, organization_id, delta FROM daily WHERE delta > 0
        ORDER BY 1, 2, 3
        ON CONFLICT (user_id, day, organization_id)
        DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros
    ),
    daily_down AS (
        UPDATE chat_spend_daily_folded d SET spend_micros = d.spend_micros + k.delta
        FROM daily k
        WHERE k.delta < 0
          AND d.user_id = k.user_id AND d.day = k.day AND d.organization_id = k.organization_id
        RETURNING 1
    ),
    totals_up AS (
        INSERT INTO chat_spend_period_totals_folded AS t (user_id, period, period_start, spend_micros)
        SELECT user_id, period, period_start, delta FROM totals WHERE delta > 0
        ORDER BY 2, 3, 1
        ON CONFLICT (period, period_start, user_id)
        DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros
    ),
    totals_down AS (
        UPDATE chat_spend_period_totals_folded t SET spend_micros = t.spend_micros + k.delta
        FROM totals k
        WHERE k.delta < 0
          AND t.period = k.period AND t.period_start = k.period_start AND t.user_id = k.user_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM taken),
           (SELECT count(*) FROM daily WHERE delta < 0) - (SELECT count(*) FROM daily_down)
         + (SELECT count(*) FROM totals WHERE delta < 0) - (SELECT count(*) FROM totals_down)
    INTO moved, missing;
    IF missing <> 0 THEN
        RAISE EXCEPTION 'spend journal fold: % decreases have no folded row to lower', missing
            USING ERRCODE = 'data_exception';
    END IF;
    RETURN moved;
END;
$$;
