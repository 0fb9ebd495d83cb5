-- Decisions that hold under contention (docs/reservations.md):
-- 1. the spend rollup gets a small slot in its key, so concurrent writers of one user stop queueing
--    on one row (readers sum over slots);
-- 2. the hierarchy, its spend scope and the admission rule become SQL functions, their one home,
--    so that a reserve can decide and hold in ONE call under the user's lock;
-- 3. spendlimits_reserve: the whole reserve in one call, bounded by the caller's deadline.

-- 1. The hot rollup row -------------------------------------------------------------------------

ALTER TABLE chat_spend_daily
    ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE chat_spend_daily
    DROP CONSTRAINT chat_spend_daily_pkey,
    ADD PRIMARY KEY (user_id, day, organization_id, slot);

-- Writers add to the slot of their backend (pg_backend_pid() % 8): two sessions share a row only
-- when their pids collide, so 16 concurrent writers of one user queue on ~2 rows instead of one.
-- Only a net decrease (a message's cost lowered or a message row deleted) folds the key's slots
-- into slot 0 first, so the subtraction never takes a row below zero; that path is rare.
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

-- 2. The rules, each in one home ------------------------------------------------------------------

-- The admission rule (docs/reservations.md): spend >= limit blocks everything, the check and every reserve,
-- even one of 0; a reserve also needs spend + live holds + estimate <= limit. A NULL limit
-- (limits disabled) admits everything; a NULL estimate asks the check's question.
CREATE FUNCTION spendlimits_admits(p_limit bigint, p_spend bigint, p_held bigint, p_estimate bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_limit IS NULL
        OR (p_spend < p_limit AND (p_estimate IS NULL OR p_spend + p_held + p_estimate <= p_limit))
$$;

-- The hierarchy of spec section 3 and the scope it implies, for (user, organization) pairs; row idx
-- answers pair idx (1-based). Users that do not exist are left out.
-- 1. limits disabled: unlimited ('disabled'), overrides included;
-- 2. the user's own override, whatever its value ('user');
-- 3. the lowest override among the user's groups, Everyone groups included, only groups of the
--    organization when one is given ('group'; ties: smallest group name, then id);
-- 4. the default limit ('default').
-- scope_organization_id is the organization whose spend and holds count against the limit; NULL
-- when every organization of the user counts. Only a group limit asked about for an organization
-- is scoped: spreading spend over organizations cannot escape a personal or default limit.
CREATE FUNCTION spendlimits_resolve(p_user_ids uuid[], p_organization_ids uuid[])
RETURNS TABLE (idx bigint, user_id uuid, organization_id uuid, period text, source text,
               limit_micros bigint, group_id uuid, scope_organization_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT k.idx, k.user_id, k.organization_id, c.period,
           CASE
               WHEN NOT c.enabled THEN 'disabled'
               WHEN u.chat_spend_limit_micros IS NOT NULL THEN 'user'
               WHEN g.id IS NOT NULL THEN 'group'
               ELSE 'default'
           END,
           CASE WHEN c.enabled
                THEN coalesce(u.chat_spend_limit_micros, g.chat_spend_limit_micros, c.default_limit_micros)
           END,
           g.id,
           CASE WHEN g.id IS NOT NULL THEN k.organization_id END
    FROM unnest(p_user_ids, p_organization_ids) WITH ORDINALITY AS k(user_id, organization_id, idx)
    JOIN users u ON u.id = k.user_id
    CROSS JOIN chat_usage_limit_config c
    LEFT JOIN LATERAL (
        -- Looked up only when it can win: limits on and no personal override.
        SELECT gr.id, gr.chat_spend_limit_micros
        FROM group_members_expanded m
        JOIN groups gr ON gr.id = m.group_id
        WHERE c.enabled AND u.chat_spend_limit_micros IS NULL
          AND m.user_id = u.id
          AND gr.chat_spend_limit_micros IS NOT NULL
          AND (k.organization_id IS NULL OR m.organization_id = k.organization_id)
        ORDER BY gr.chat_spend_limit_micros, gr.name, gr.id
        LIMIT 1
    ) g ON true
$$;

-- Limit, spend in the period and live holds of each pair, in one statement (the check runs it).
-- Python computes the bounds of all three periods of each pair's instant as UTC days
-- (window_* arrays, keyed by idx); the configured period picks one as the statement reads the
-- configuration. Spend is the rollup summed over days and slots, in the scope. A hold is live while
-- HELD and p_now < expires_at (no job needed); live holds count in the period containing p_now only,
-- in the scope, plus the holds made without an organization (their message may still land in it:
-- erring that way refuses needlessly, never overspends).
CREATE FUNCTION spendlimits_statuses(
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

-- 3. One call per reserve -------------------------------------------------------------------------

-- Refuses, at commit, a write made under a deadline that has passed (spendlimits.deadline, set
-- locally by the decision functions). Together with the checks before each write, an answer of
-- "nothing held" that went out at the deadline stays true even when the server was frozen and
-- resumed mid-statement. Writers that set no deadline are not affected.
CREATE FUNCTION spendlimits_deadline_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deadline text := current_setting('spendlimits.deadline', true);
BEGIN
    IF deadline IS NOT NULL AND deadline <> '' AND clock_timestamp() > deadline::timestamptz THEN
        RAISE EXCEPTION 'the decision passed its deadline (%) before it committed; nothing was written', deadline
            USING ERRCODE = 'query_canceled';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER chat_spend_reservations_deadline
    AFTER INSERT ON chat_spend_reservations
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION spendlimits_deadline_check();

-- The whole reserve in one call, run in autocommit: the user's advisory lock is a transaction lock,
-- so it is held for this call's execution only (and works behind PgBouncer's transaction pooling).
-- p_deadline is the absolute time the caller answers at; p_budget_ms the time left when sent.
-- Waiting for the lock is bounded by lock_timeout; nothing is written once clock_timestamp() is past
-- p_deadline (checked before the write and again at commit). Every statement below takes a fresh
-- snapshot (READ COMMITTED, volatile function), so the status read after the lock sees every hold
-- and settle committed by the lock's previous holders.
-- outcome: admitted | replayed | refused | idempotency_conflict | user_not_found |
--          organization_not_found | chat_not_found | chat_in_other_organization.
CREATE FUNCTION spendlimits_reserve(
    p_user_id uuid, p_organization_id uuid, p_chat_id uuid, p_estimate_micros bigint,
    p_ttl_seconds integer, p_idempotency_key text, p_request_digest bytea, p_now timestamptz,
    p_window_periods text[], p_window_first_days date[], p_window_end_days date[],
    p_deadline timestamptz, p_budget_ms integer)
RETURNS TABLE (outcome text,
               reservation_id uuid, reservation_user_id uuid, reservation_organization_id uuid, reservation_chat_id uuid,
               reservation_amount_micros bigint, reservation_state text,
               reservation_created_at timestamptz, reservation_expires_at timestamptz,
               reservation_ended_at timestamptz, reservation_message_id uuid,
               status_user_id uuid, status_organization_id uuid, status_scope_organization_id uuid, status_source text, status_limit_micros bigint,
               status_group_id uuid, status_period text, status_spend_micros bigint,
               status_held_micros bigint, status_allowed boolean, status_enforcement_mode text)
LANGUAGE plpgsql AS $$
DECLARE
    st      record;
    held    chat_spend_reservations%ROWTYPE;
    chat_organization uuid;
BEGIN
    IF clock_timestamp() >= p_deadline THEN
        RAISE EXCEPTION 'the reserve reached the database after its deadline (%)', p_deadline
            USING ERRCODE = 'query_canceled';
    END IF;
    PERFORM set_config('lock_timeout', greatest(p_budget_ms, 1)::text, true);
    PERFORM set_config('spendlimits.deadline', p_deadline::text, true);
    -- 0x53504C52 ("SPLR") keeps these locks apart from other two-key advisory locks; a hash
    -- collision only serialises two users.
    PERFORM pg_advisory_xact_lock(1397771346, hashtext(p_user_id::text));

    IF p_idempotency_key IS NOT NULL THEN
        SELECT r.* INTO held FROM chat_spend_reservations r
        WHERE r.user_id = p_user_id AND r.idempotency_key = p_idempotency_key;
        IF FOUND AND held.request_digest IS DISTINCT FROM p_request_digest THEN
            outcome := 'idempotency_conflict';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;

    SELECT s.* INTO st
    FROM spendlimits_statuses(ARRAY[p_user_id], ARRAY[p_organization_id], ARRAY[1, 1, 1]::bigint[],
                              p_window_periods, p_window_first_days, p_window_end_days, p_now) s;
    IF NOT FOUND THEN
        outcome := 'user_not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    status_user_id := st.user_id;
    status_organization_id := st.organization_id;
    status_scope_organization_id := st.scope_organization_id;
    status_source := st.source;
    status_limit_micros := st.limit_micros;
    status_group_id := st.group_id;
    status_period := st.period;
    status_spend_micros := st.spend_micros;
    status_held_micros := st.held_micros;
    status_allowed := st.allowed;
    status_enforcement_mode := st.enforcement_mode;

    IF held.id IS NOT NULL THEN
        outcome := 'replayed';
    ELSE
        IF p_organization_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = p_organization_id) THEN
            outcome := 'organization_not_found';
            RETURN NEXT;
            RETURN;
        END IF;
        IF p_chat_id IS NOT NULL THEN
            SELECT c.organization_id INTO chat_organization
            FROM chats c WHERE c.id = p_chat_id AND c.owner_id = p_user_id;
            IF NOT FOUND THEN
                outcome := 'chat_not_found';
                RETURN NEXT;
                RETURN;
            END IF;
            IF p_organization_id IS NOT NULL AND chat_organization <> p_organization_id THEN
                outcome := 'chat_in_other_organization';
                RETURN NEXT;
                RETURN;
            END IF;
        END IF;
        IF NOT spendlimits_admits(st.limit_micros, st.spend_micros, st.held_micros, p_estimate_micros) THEN
            outcome := 'refused';
            RETURN NEXT;
            RETURN;
        END IF;
        IF clock_timestamp() > p_deadline THEN
            RAISE EXCEPTION 'the reserve passed its deadline (%) before it could hold; nothing was written',
                p_deadline USING ERRCODE = 'query_canceled';
        END IF;
        -- Expired holds of this user no longer count; marking them keeps the live index small.
        UPDATE chat_spend_reservations r SET state = 'expired', ended_at = r.expires_at
        WHERE r.user_id = p_user_id AND r.state = 'held' AND r.expires_at <= p_now;
        INSERT INTO chat_spend_reservations AS r
            (user_id, organization_id, chat_id, amount_micros, created_at, expires_at,
             idempotency_key, request_digest)
        SELECT p_user_id, p_organization_id, p_chat_id, p_estimate_micros, p_now,
               p_now + make_interval(secs => coalesce(p_ttl_seconds, c.reservation_ttl_seconds)),
               p_idempotency_key, p_request_digest
        FROM chat_usage_limit_config c
        RETURNING r.* INTO held;
        outcome := 'admitted';
    END IF;
    reservation_id := held.id;
    reservation_user_id := held.user_id;
    reservation_organization_id := held.organization_id;
    reservation_chat_id := held.chat_id;
    reservation_amount_micros := held.amount_micros;
    reservation_state := held.state;
    reservation_created_at := held.created_at;
    reservation_expires_at := held.expires_at;
    reservation_ended_at := held.ended_at;
    reservation_message_id := held.message_id;
    RETURN NEXT;
END;
$$;
