-- Settle in one call (docs/reservations.md, "One round trip per decision"):
-- 1. spendlimits_message_cost: what a message costs (spec section 7), the one home of that
--    arithmetic; recordChatMessage(s) price in their lookup statement with it, settle in its call;
-- 2. spendlimits_settle: the whole settle in one call, run in autocommit like spendlimits_reserve.

-- 1. The cost rule ---------------------------------------------------------------------------------

-- Prices are micro-dollars per million tokens. A given total wins. Otherwise
-- ceil(sum(tokens x price) / 1,000,000) in numeric, exact at any token count (no float, no bigint
-- overflow), a missing price counting 0. Unknown (cost_micros NULL, not counted as spend) when there
-- is no usage (every token count NULL), no model (its prices all NULL), or neither an input nor an
-- output price. too_large: the computed cost is beyond 2^53 - 1, the most clients read exactly as a
-- JSON number; then cost_micros is NULL and the caller refuses the message. A given total is the
-- caller's input and is checked as such before it gets here (totalCostMicros 0 .. 2^53 - 1).
-- Declared as a one-row table function in SQL so that it is inlined into the batch's statement.
CREATE FUNCTION spendlimits_message_cost(
    p_total_cost_micros bigint,
    p_input_tokens bigint, p_output_tokens bigint, p_cache_read_tokens bigint, p_cache_write_tokens bigint,
    p_input_price bigint, p_output_price bigint, p_cache_read_price bigint, p_cache_write_price bigint)
RETURNS TABLE (cost_micros bigint, too_large boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_total_cost_micros IS NOT NULL THEN p_total_cost_micros
                WHEN x.cost <= 9007199254740991 THEN x.cost::bigint
           END,
           p_total_cost_micros IS NULL AND coalesce(x.cost > 9007199254740991, false)
    FROM (
        SELECT CASE
                   WHEN p_total_cost_micros IS NOT NULL THEN NULL
                   WHEN num_nulls(p_input_tokens, p_output_tokens, p_cache_read_tokens, p_cache_write_tokens) = 4
                       THEN NULL
                   WHEN p_input_price IS NULL AND p_output_price IS NULL THEN NULL
                   ELSE ceil((coalesce(p_input_tokens, 0)::numeric * coalesce(p_input_price, 0)
                              + coalesce(p_output_tokens, 0)::numeric * coalesce(p_output_price, 0)
                              + coalesce(p_cache_read_tokens, 0)::numeric * coalesce(p_cache_read_price, 0)
                              + coalesce(p_cache_write_tokens, 0)::numeric * coalesce(p_cache_write_price, 0))
                             / 1000000)
               END AS cost
    ) x
$$;

-- 2. One call per settle ---------------------------------------------------------------------------

-- The whole settle, run in autocommit: records the call's message with recordChatMessage's rules
-- and ends the hold, exactly once. The reservation row is locked first (FOR UPDATE), so two settles
-- of one reservation run one after the other, and the second sees what the first committed (a
-- volatile function's statements each take a fresh snapshot under READ COMMITTED).
-- - RELEASED: not_held (releasing said the call never ran).
-- - SETTLED: replayed when this is the message it was settled with (same chat, key and input),
--   else a conflict; nothing is written either way.
-- - HELD or EXPIRED (stored 'expired' or 'held' past its expiry): the message's chat must be the
--   reservation user's, in its organization when it has one; the message is recorded (or, its key
--   taken by the same input, the first one is returned) and the reservation becomes SETTLED. No limit
--   is checked: the money is spent. A message that already settled another reservation is refused.
-- Every refusal is decided before the one write that could need undoing (the message insert), so
-- an outcome other than settled/replayed has written nothing.
-- p_idempotency_key is the message's key (the caller defaults it to 'reservation:<id>');
-- p_request_digest the digest of the message's input, as recordChatMessage computes it. Input checks
-- that need no database (key length, createdAt, token and total bounds) are the caller's.
-- outcome: settled | replayed | reservation_not_found | not_held | chat_not_found |
--          chat_of_other_user | chat_in_other_organization | cost_too_large | model_not_found |
--          message_key_conflict | settled_with_other_message | message_settled_other.
CREATE FUNCTION spendlimits_settle(
    p_reservation_id uuid, p_chat_id uuid, p_role text, p_model_id uuid,
    p_input_tokens bigint, p_output_tokens bigint, p_cache_read_tokens bigint, p_cache_write_tokens bigint,
    p_total_cost_micros bigint, p_created_at timestamptz, p_idempotency_key text, p_request_digest bytea,
    p_now timestamptz)
RETURNS TABLE (outcome text,
               reservation_id uuid, reservation_user_id uuid, reservation_organization_id uuid,
               reservation_chat_id uuid, reservation_amount_micros bigint, reservation_state text,
               reservation_created_at timestamptz, reservation_expires_at timestamptz,
               reservation_ended_at timestamptz, reservation_message_id uuid,
               message_id uuid, message_chat_id uuid, message_role text, message_model_id uuid,
               message_input_tokens bigint, message_output_tokens bigint,
               message_cache_read_tokens bigint, message_cache_write_tokens bigint,
               message_total_cost_micros bigint, message_deleted boolean, message_created_at timestamptz,
               message_idempotency_key text)
LANGUAGE plpgsql AS $$
DECLARE
    r        chat_spend_reservations%ROWTYPE;
    m        chat_messages%ROWTYPE;
    chat     chats%ROWTYPE;
    model    chat_models%ROWTYPE;
    priced   record;
    replay   boolean := false;
BEGIN
    SELECT * INTO r FROM chat_spend_reservations WHERE id = p_reservation_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'reservation_not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF r.state = 'released' THEN
        outcome := 'not_held';
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT * INTO chat FROM chats c WHERE c.id = p_chat_id;
    IF r.state <> 'settled' THEN
        -- The hold counted in the reservation's user and organization: the cost must land there too.
        IF chat.id IS NULL THEN
            outcome := 'chat_not_found';
            RETURN NEXT;
            RETURN;
        END IF;
        IF chat.owner_id <> r.user_id THEN
            outcome := 'chat_of_other_user';
            RETURN NEXT;
            RETURN;
        END IF;
        IF r.organization_id IS NOT NULL AND chat.organization_id <> r.organization_id THEN
            outcome := 'chat_in_other_organization';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;

    -- recordChatMessage's checks, in its order: the cost, the chat, the model.
    IF p_model_id IS NOT NULL THEN
        SELECT * INTO model FROM chat_models cm WHERE cm.id = p_model_id;
    END IF;
    SELECT * INTO priced
    FROM spendlimits_message_cost(p_total_cost_micros, p_input_tokens, p_output_tokens, p_cache_read_tokens,
                                  p_cache_write_tokens, model.input_price_micros, model.output_price_micros,
                                  model.cache_read_price_micros, model.cache_write_price_micros);
    IF priced.too_large THEN
        outcome := 'cost_too_large';
    ELSIF chat.id IS NULL THEN
        outcome := 'chat_not_found';
    ELSIF p_model_id IS NOT NULL AND model.id IS NULL THEN
        outcome := 'model_not_found';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;

    IF r.state = 'settled' THEN
        -- Only the message it was settled with can be asked for again; nothing new is recorded.
        SELECT * INTO m FROM chat_messages cm WHERE cm.chat_id = p_chat_id AND cm.idempotency_key = p_idempotency_key;
        IF FOUND AND m.request_digest IS DISTINCT FROM p_request_digest THEN
            outcome := 'message_key_conflict';
        ELSIF NOT FOUND OR m.id <> r.message_id THEN
            outcome := 'settled_with_other_message';
        ELSE
            outcome := 'replayed';
        END IF;
    ELSE
        INSERT INTO chat_messages AS cm (chat_id, role, model_id, input_tokens, output_tokens, cache_read_tokens,
                                         cache_write_tokens, total_cost_micros, created_at, idempotency_key,
                                         request_digest)
        VALUES (p_chat_id, p_role, p_model_id, coalesce(p_input_tokens, 0), coalesce(p_output_tokens, 0),
                coalesce(p_cache_read_tokens, 0), coalesce(p_cache_write_tokens, 0), priced.cost_micros,
                coalesce(p_created_at, now()), p_idempotency_key, p_request_digest)
        ON CONFLICT (chat_id, idempotency_key) DO NOTHING
        RETURNING * INTO m;
        IF NOT FOUND THEN
            -- The key was taken (committed before this statement, or by a transaction this insert
            -- waited for): the first message when the input is the same, else a conflict.
            SELECT * INTO m FROM chat_messages cm
            WHERE cm.chat_id = p_chat_id AND cm.idempotency_key = p_idempotency_key;
            IF m.request_digest IS NULL OR m.request_digest IS DISTINCT FROM p_request_digest THEN
                outcome := 'message_key_conflict';
                RETURN NEXT;
                RETURN;
            END IF;
            replay := true;
        END IF;
        -- A message settles at most one reservation; only a replayed message can have settled one.
        UPDATE chat_spend_reservations cr SET state = 'settled', message_id = m.id, ended_at = p_now
        WHERE cr.id = r.id
          AND NOT EXISTS (SELECT 1 FROM chat_spend_reservations o WHERE o.message_id = m.id)
        RETURNING cr.* INTO r;
        IF NOT FOUND THEN
            outcome := 'message_settled_other';
            RETURN NEXT;
            RETURN;
        END IF;
        outcome := CASE WHEN replay THEN 'replayed' ELSE 'settled' END;
    END IF;
    IF outcome NOT IN ('settled', 'replayed') THEN
        RETURN NEXT;
        RETURN;
    END IF;

    RETURN QUERY SELECT outcome,
        r.id, r.user_id, r.organization_id, r.chat_id, r.amount_micros, r.state, r.created_at, r.expires_at,
        r.ended_at, r.message_id,
        m.id, m.chat_id, m.role, m.model_id, m.input_tokens, m.output_tokens, m.cache_read_tokens,
        m.cache_write_tokens, m.total_cost_micros, m.deleted, m.created_at, m.idempotency_key;
END;
$$;
