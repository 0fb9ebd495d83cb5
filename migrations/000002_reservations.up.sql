-- Strict enforcement (strict.md): how to decide when the decision cannot be evaluated, and
-- reservations that make admission and the hold one atomic step.

ALTER TABLE chat_usage_limit_config
    ADD COLUMN enforcement_mode text NOT NULL DEFAULT 'fail_open'
        CHECK (enforcement_mode IN ('fail_open', 'fail_closed')),
    -- A hold outlives a crashed daemon by at most this long; a day is far longer than any LLM call.
    ADD COLUMN reservation_ttl_seconds integer NOT NULL DEFAULT 300
        CHECK (reservation_ttl_seconds BETWEEN 1 AND 86400);

CREATE TABLE chat_spend_reservations (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL REFERENCES users (id),
    -- The scope the hold was admitted in; NULL = all of the user's organizations.
    organization_id uuid        REFERENCES organizations (id),
    chat_id         uuid,
    amount_micros   bigint      NOT NULL CHECK (amount_micros >= 0),
    -- A HELD row whose expires_at has passed no longer holds anything: no job has to run for
    -- that to be true. 'expired' is only a tidier spelling of the same thing.
    state           text        NOT NULL DEFAULT 'held'
        CHECK (state IN ('held', 'settled', 'released', 'expired')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    -- When the reservation left HELD.
    ended_at        timestamptz,
    -- The message recorded by settle; a message settles at most one reservation.
    message_id      uuid        UNIQUE REFERENCES chat_messages (id),
    idempotency_key text        CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    -- A digest of the reserve input, to tell a retry from a conflicting reuse of the key.
    request_digest  bytea,
    UNIQUE (user_id, idempotency_key),
    -- A reservation's chat is one of its user's chats.
    FOREIGN KEY (chat_id, user_id) REFERENCES chats (id, owner_id),
    CHECK (expires_at > created_at),
    CHECK ((state = 'settled') = (message_id IS NOT NULL)),
    CHECK ((state = 'held') = (ended_at IS NULL)),
    CHECK ((idempotency_key IS NULL) = (request_digest IS NULL))
);
-- Live holds of one user: what every reserve and status sums. Small, since rows leave it when
-- they are settled, released or tidied to 'expired'.
CREATE INDEX chat_spend_reservations_live_idx
    ON chat_spend_reservations (user_id, expires_at) INCLUDE (organization_id, amount_micros, created_at)
    WHERE state = 'held';
CREATE INDEX chat_spend_reservations_message_idx ON chat_spend_reservations (message_id)
    WHERE message_id IS NOT NULL;

-- The settled message must be spend of the reservation's user, in the reservation's
-- organization when it has one: otherwise the hold and the cost would land in different scopes
-- and the guarantee would not hold. Checked here so every writer obeys it.
CREATE FUNCTION check_reservation_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
    org   uuid;
BEGIN
    IF NEW.message_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT c.owner_id, c.organization_id INTO owner, org
    FROM chat_messages m JOIN chats c ON c.id = m.chat_id
    WHERE m.id = NEW.message_id;
    IF owner IS DISTINCT FROM NEW.user_id
       OR (NEW.organization_id IS NOT NULL AND org IS DISTINCT FROM NEW.organization_id) THEN
        RAISE EXCEPTION 'a reservation settles only a message of its own user and organization'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER chat_spend_reservations_message_check
    BEFORE INSERT OR UPDATE OF message_id ON chat_spend_reservations
    FOR EACH ROW EXECUTE FUNCTION check_reservation_message();

-- One row that autovacuum will never analyze (it waits for 50 changed rows): without statistics the
-- planner takes it for ~660 rows, and every status and check statement is costed as if it were.
ANALYZE chat_usage_limit_config;
