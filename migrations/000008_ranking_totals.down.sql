-- Restores migration 000003's trigger function (the daily rollup alone); drops the period totals
-- and the ranking's indexes.

CREATE OR REPLACE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    my_slot  smallint := pg_backend_pid() % 8;
    users    uuid[];
    days     date[];
    orgs     uuid[];
    deltas   bigint[];
    fold_key record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, my_slot,
               sum(m.total_cost_micros)
        FROM new_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL
        GROUP BY 1, 2, 3
        -- A fixed order keeps concurrent batches from deadlocking on each other's rows.
        ORDER BY 1, 2, 3
        ON CONFLICT (user_id, day, organization_id, slot)
        DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;
        RETURN NULL;
    END IF;

    -- UPDATE or DELETE: the net change per key (a soft delete changes nothing and writes nothing).
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

    INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, slot, spend_micros)
    SELECT k.user_id, k.day, k.organization_id, my_slot, k.delta
    FROM unnest(users, days, orgs, deltas) AS k(user_id, day, organization_id, delta)
    WHERE k.delta > 0
    ON CONFLICT (user_id, day, organization_id, slot)
    DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;

    -- Two sessions folding the same key deadlocked (seen under 16 writers): each had deleted some
    -- of the key's slots and waited for the other's. Folders of a key take its lock first, in key
    -- order; writers that only add never fold, so they never wait on this lock.
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
    RETURN NULL;
END;
$$;

DROP TABLE chat_spend_period_totals;
DROP INDEX users_override_lowest_idx;
DROP INDEX users_deleted_idx;
