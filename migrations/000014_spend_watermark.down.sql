-- Back to migration 000013: every message write appends to the journal again.
--
-- Writers queue until this commits. Everything written so far is folded first (every inserter has
-- finished before the SHARE lock is granted, so the fold's snapshot sees all of it committed), then
-- the journal starts empty as 000013 expects.
LOCK TABLE chat_messages IN SHARE MODE;
SELECT pg_advisory_xact_lock(1397772874);
SELECT spendlimits_fold_spend_journal();

CREATE OR REPLACE VIEW chat_spend_daily AS
    SELECT user_id, day, organization_id, spend_micros FROM chat_spend_daily_folded
    UNION ALL
    SELECT user_id, day, organization_id, delta_micros FROM chat_spend_journal;

CREATE OR REPLACE VIEW chat_spend_period_totals AS
    SELECT user_id, period, period_start, spend_micros FROM chat_spend_period_totals_folded
    UNION ALL
    SELECT j.user_id, p.period, p.period_start, j.delta_micros
    FROM chat_spend_journal j
    CROSS JOIN LATERAL (VALUES
        ('day', j.day),
        ('week', date_trunc('week', j.day::timestamp)::date),
        ('month', date_trunc('month', j.day::timestamp)::date)) AS p(period, period_start);

DROP VIEW chat_spend_unfolded;
DROP FUNCTION spendlimits_snapshot_with_running(pg_snapshot, xid8);
-- 000003's decision statement, which reads the rollup's view.
CREATE OR REPLACE FUNCTION spendlimits_statuses(
    p_user_ids uuid[], p_organization_ids uuid[],
    p_window_keys bigint[], p_window_periods text[], p_window_first_days date[], p_window_end_days date[],
    p_now timestamptz)
RETURNS TABLE (idx bigint, user_id uuid, organization_id uuid, source text, limit_micros bigint,
               group_id uuid, period text, scope_organization_id uuid, spend_micros bigint,
               held_micros bigint, allowed boolean, enforcement_mode text)
LANGUAGE sql STABLE AS $$
    WITH resolved AS (
        SELECT * FROM spendlimits_resolve(p_user_ids, p_organization_ids)
    ),
    windows AS (
        SELECT w.idx, w.period, w.first_day, w.end_day
        FROM unnest(p_window_keys, p_window_periods, p_window_first_days, p_window_end_days)
             AS w(idx, period, first_day, end_day)
    ),
    spent AS (
        SELECT r.idx, sum(d.spend_micros)::bigint AS spend_micros
        FROM resolved r
        JOIN windows w ON w.idx = r.idx AND w.period = r.period
        JOIN chat_spend_daily d
          ON d.user_id = r.user_id AND d.day >= w.first_day AND d.day < w.end_day
        WHERE r.limit_micros IS NOT NULL
          AND (r.scope_organization_id IS NULL OR d.organization_id = r.scope_organization_id)
        GROUP BY r.idx
    ),
    held AS (
        SELECT r.idx, sum(h.amount_micros)::bigint AS held_micros
        FROM resolved r
        JOIN windows w ON w.idx = r.idx AND w.period = r.period
        JOIN chat_spend_reservations h
          ON h.user_id = r.user_id AND h.state = 'held' AND h.expires_at > p_now
        WHERE r.limit_micros IS NOT NULL
          AND (p_now AT TIME ZONE 'UTC')::date >= w.first_day
          AND (p_now AT TIME ZONE 'UTC')::date < w.end_day
          AND (r.scope_organization_id IS NULL OR h.organization_id IS NULL
               OR h.organization_id = r.scope_organization_id)
        GROUP BY r.idx
    )
    SELECT r.idx, r.user_id, r.organization_id, r.source, r.limit_micros, r.group_id, r.period,
           r.scope_organization_id,
           coalesce(s.spend_micros, 0)::bigint, coalesce(h.held_micros, 0)::bigint,
           spendlimits_admits(r.limit_micros, coalesce(s.spend_micros, 0), coalesce(h.held_micros, 0), NULL),
           -- Read along so that a decision that later cannot be evaluated knows how to fail.
           (SELECT c.enforcement_mode FROM chat_usage_limit_config c)
    FROM resolved r
    LEFT JOIN spent s ON s.idx = r.idx
    LEFT JOIN held h ON h.idx = r.idx
$$;
DROP FUNCTION spendlimits_spend_unfolded_rows(uuid, pg_snapshot, xid8[]);
DROP FUNCTION spendlimits_spend_unfolded_rows();
DROP TABLE spendlimits_spend_folded;
ALTER TABLE chat_spend_journal DROP COLUMN message_xid;
DROP TRIGGER chat_messages_attribution_insert ON chat_messages;
DROP TRIGGER chat_messages_attribution_update ON chat_messages;
DROP FUNCTION chat_messages_attribution();
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_attribution_fkey;
ALTER TABLE chats DROP CONSTRAINT chats_attribution_key;
ALTER TABLE chat_messages DROP COLUMN owner_id, DROP COLUMN organization_id;
ALTER TABLE chat_messages DROP COLUMN recorded_xid;

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
CREATE TRIGGER chat_messages_rollup_insert
    AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_spend_daily_apply();

-- 000013's fold.
CREATE OR REPLACE FUNCTION spendlimits_fold_spend_journal() RETURNS bigint LANGUAGE plpgsql AS $$
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
    -- From the daily sums, not the journal's rows: a fold of 1,600 rows of one user spent 2.9 of its
    -- 4.9 ms computing three periods for every row; a user's day has one daily sum per organization.
    -- A key whose changes net to zero is missing from daily, and adds nothing to a total either.
    totals AS (
        SELECT k.user_id, p.period, p.period_start, sum(k.delta)::bigint AS delta
        FROM daily k
        CROSS JOIN LATERAL (VALUES
            ('day', k.day),
            ('week', date_trunc('week', k.day::timestamp)::date),
            ('month', date_trunc('month', k.day::timestamp)::date)) AS p(period, period_start)
        GROUP BY 1, 2, 3
        HAVING sum(k.delta) <> 0
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
