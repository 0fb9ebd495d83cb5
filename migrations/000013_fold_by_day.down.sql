-- Back to migration 000012's fold: the periods computed for every journal row taken.

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
