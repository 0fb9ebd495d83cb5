-- The whole data model of spec section 2. Constraints live here, not only in Python.

CREATE TABLE organizations (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    display_name text        NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 128),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

CREATE TABLE users (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username                text        NOT NULL CHECK (char_length(username) BETWEEN 1 AND 64),
    name                    text        NOT NULL DEFAULT '' CHECK (char_length(name) <= 128),
    email                   text        CHECK (char_length(email) BETWEEN 3 AND 254),
    avatar_url              text        NOT NULL DEFAULT '' CHECK (char_length(avatar_url) <= 2048),
    role                    text        NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'auditor', 'member')),
    is_system               boolean     NOT NULL DEFAULT false,
    deleted                 boolean     NOT NULL DEFAULT false,
    -- The user's own override; NULL = none.
    chat_spend_limit_micros bigint      CHECK (chat_spend_limit_micros > 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
-- As in Coder: a username is unique among live users, case-insensitively.
CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE NOT deleted;
CREATE INDEX users_overrides_idx ON users (username) WHERE chat_spend_limit_micros IS NOT NULL AND NOT deleted;

CREATE TABLE organization_members (
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_idx ON organization_members (user_id);

CREATE TABLE groups (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                    text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    display_name            text        NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 128),
    avatar_url              text        NOT NULL DEFAULT '' CHECK (char_length(avatar_url) <= 2048),
    chat_spend_limit_micros bigint      CHECK (chat_spend_limit_micros > 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, name)
);
CREATE INDEX groups_overrides_idx ON groups (name, id) WHERE chat_spend_limit_micros IS NOT NULL;

-- Every organization has an Everyone group whose id is the organization's id. Creating it here
-- makes the invariant hold for every writer, not only for the API.
CREATE FUNCTION create_everyone_group() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO groups (id, organization_id, name, display_name)
    VALUES (NEW.id, NEW.id, 'Everyone', 'Everyone');
    RETURN NEW;
END;
$$;
CREATE TRIGGER organizations_everyone_group
    AFTER INSERT ON organizations FOR EACH ROW EXECUTE FUNCTION create_everyone_group();

-- Explicit membership only: the Everyone group's members are the organization's members.
CREATE TABLE group_members (
    group_id   uuid        NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE FUNCTION check_group_member() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org uuid;
BEGIN
    SELECT organization_id INTO org FROM groups WHERE id = NEW.group_id;
    IF org = NEW.group_id THEN
        RAISE EXCEPTION 'the Everyone group has no explicit members' USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM organization_members
                   WHERE organization_id = org AND user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'group members must belong to the group''s organization'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER group_members_check
    BEFORE INSERT OR UPDATE ON group_members FOR EACH ROW EXECUTE FUNCTION check_group_member();

-- Coder's group_members_expanded: explicit members plus the implicit Everyone members,
-- live users only. organization_id comes along so callers can scope by organization.
CREATE VIEW group_members_expanded AS
    SELECT gm.group_id, gm.user_id, g.organization_id
    FROM group_members gm
    JOIN groups g ON g.id = gm.group_id
    JOIN users u ON u.id = gm.user_id
    WHERE NOT u.deleted
    UNION ALL
    SELECT om.organization_id AS group_id, om.user_id, om.organization_id
    FROM organization_members om
    JOIN users u ON u.id = om.user_id
    WHERE NOT u.deleted;

CREATE TABLE chat_models (
    id                         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider                   text        NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 64),
    model                      text        NOT NULL CHECK (char_length(model) BETWEEN 1 AND 128),
    enabled                    boolean     NOT NULL DEFAULT true,
    -- Micro-dollars per million tokens; NULL = no price.
    input_price_micros         bigint      CHECK (input_price_micros >= 0),
    output_price_micros        bigint      CHECK (output_price_micros >= 0),
    cache_read_price_micros    bigint      CHECK (cache_read_price_micros >= 0),
    cache_write_price_micros   bigint      CHECK (cache_write_price_micros >= 0),
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, model)
);

CREATE TABLE chats (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id        uuid        NOT NULL REFERENCES users (id),
    organization_id uuid        NOT NULL REFERENCES organizations (id),
    parent_chat_id  uuid,
    title           text        NOT NULL DEFAULT '' CHECK (char_length(title) <= 512),
    archived        boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, owner_id),
    -- A child (sub-agent) chat carries its parent's owner: the database refuses anything else.
    FOREIGN KEY (parent_chat_id, owner_id) REFERENCES chats (id, owner_id),
    CHECK (parent_chat_id IS DISTINCT FROM id)
);
CREATE INDEX chats_owner_idx ON chats (owner_id, organization_id);
CREATE INDEX chats_parent_idx ON chats (parent_chat_id) WHERE parent_chat_id IS NOT NULL;

-- Spend is attributed to (owner, organization) through the chat, so the rollup below would go
-- stale if either changed.
CREATE FUNCTION forbid_chat_reattribution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.owner_id <> OLD.owner_id OR NEW.organization_id <> OLD.organization_id THEN
        RAISE EXCEPTION 'a chat''s owner and organization cannot change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER chats_fixed_attribution
    BEFORE UPDATE ON chats FOR EACH ROW EXECUTE FUNCTION forbid_chat_reattribution();

CREATE TABLE chat_messages (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    chat_id            uuid        NOT NULL REFERENCES chats (id),
    role               text        NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    model_id           uuid        REFERENCES chat_models (id),
    input_tokens       bigint      NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens      bigint      NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_read_tokens  bigint      NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens bigint      NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    -- NULL = unpriced: not counted toward spend.
    total_cost_micros  bigint      CHECK (total_cost_micros >= 0),
    deleted            boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    idempotency_key    text        CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    -- A digest of the input that created the message, to tell a retry from a conflicting reuse.
    request_digest     bytea,
    UNIQUE (chat_id, idempotency_key)
);
-- Coder's spend index: the raw per-chat sum over a period.
CREATE INDEX chat_messages_spend_idx ON chat_messages (chat_id, created_at) WHERE total_cost_micros IS NOT NULL;

-- Spend per (user, organization, UTC day). Day, week and month are whole UTC days, so every
-- period's spend is a sum of at most 31 rows whatever the size of the history. Statement-level
-- triggers keep it exact for every writer: one aggregated upsert per statement, in the same
-- transaction as the messages.
CREATE TABLE chat_spend_daily (
    user_id         uuid   NOT NULL REFERENCES users (id),
    day             date   NOT NULL,
    organization_id uuid   NOT NULL REFERENCES organizations (id),
    spend_micros    bigint NOT NULL CHECK (spend_micros >= 0),
    PRIMARY KEY (user_id, day, organization_id)
);

CREATE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER chat_messages_rollup_insert
    AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_spend_daily_apply();
CREATE TRIGGER chat_messages_rollup_update
    AFTER UPDATE ON chat_messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_spend_daily_apply();
CREATE TRIGGER chat_messages_rollup_delete
    AFTER DELETE ON chat_messages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_spend_daily_apply();

-- Exactly one row, seeded disabled: a fresh install limits nobody.
CREATE TABLE chat_usage_limit_config (
    singleton            boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled              boolean     NOT NULL DEFAULT false,
    default_limit_micros bigint      NOT NULL DEFAULT 0 CHECK (default_limit_micros >= 0),
    period               text        NOT NULL DEFAULT 'month' CHECK (period IN ('day', 'week', 'month')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
INSERT INTO chat_usage_limit_config DEFAULT VALUES;

CREATE TABLE api_tokens (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    user_id      uuid        REFERENCES users (id),
    service      text        CHECK (service IN ('chatd')),
    -- SHA-256 of the secret; the secret itself is never stored.
    secret_hash  bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK ((user_id IS NULL) <> (service IS NULL))
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id) WHERE user_id IS NOT NULL;
