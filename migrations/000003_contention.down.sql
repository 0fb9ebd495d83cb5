DROP FUNCTION spendlimits_reserve(uuid, uuid, uuid, bigint, integer, text, bytea, timestamptz, text[], date[], date[], timestamptz, integer);
DROP TRIGGER chat_spend_reservations_deadline ON chat_spend_reservations;
DROP FUNCTION spendlimits_deadline_check();
DROP FUNCTION spendlimits_statuses(uuid[], uuid[], bigint[], text[], date[], date[], timestamptz);
DROP FUNCTION spendlimits_resolve(uuid[], uuid[]);
DROP FUNCTION spendlimits_admits(bigint, bigint, bigint, bigint);

-- Fold the slots back into one row per (user, day, organization), then restore 000001's trigger.
CREATE TEMP TABLE chat_spend_daily_folded ON COMMIT DROP AS
    SELECT user_id, day, organization_id, sum(spend_micros)::bigint AS spend_micros
    FROM chat_spend_daily GROUP BY 1, 2, 3;
DELETE FROM chat_spend_daily;
ALTER TABLE chat_spend_daily DROP CONSTRAINT chat_spend_daily_pkey;
ALTER TABLE chat_spend_daily DROP COLUMN slot;
ALTER TABLE chat_spend_daily ADD PRIMARY KEY (user_id, day, organization_id);
INSERT INTO chat_spend_daily (user_id, day, organization_id, spend_micros)
    SELECT user_id, day, organization_id, spend_micros FROM chat_spend_daily_folded;

CREATE OR REPLACE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE chat_spend_daily d
        SET spend_micros = d.spend_micros - o.spend
        FROM (
            SELECT c.owner_id, c.organization_id, (m.created_at AT TIME ZONE 'UTC')::date AS day,
                   sum(m.total_cost_micros) AS spend
            FROM old_rows m JOIN chats c ON c.id = m.chat_id
            WHERE m.total_cost_micros IS NOT NULL
            GROUP BY 1, 2, 3
        ) o
        WHERE d.user_id = o.owner_id AND d.organization_id = o.organization_id AND d.day = o.day;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO chat_spend_daily AS d (user_id, day, organization_id, spend_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id,
               sum(m.total_cost_micros)
        FROM new_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL
        GROUP BY 1, 2, 3
        -- A fixed order keeps concurrent batches from deadlocking on each other's rows.
        ORDER BY 1, 2, 3
        ON CONFLICT (user_id, day, organization_id)
        DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros;
    END IF;
    RETURN NULL;
END;
$$;
