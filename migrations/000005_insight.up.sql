-- Insight (docs/insight.md): warning thresholds, the audit log of limit changes written by the
-- database itself, and an index that lets the ranking aggregate one period of the rollup.

-- Warning thresholds: 1-99 each, at most 5, strictly ascending (so no duplicates). A function,
-- because a CHECK cannot hold a subquery; IMMUTABLE, so the CHECK may use it.
CREATE FUNCTION valid_warning_thresholds(t integer[]) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_ndims(t), 1) = 1
       AND cardinality(t) <= 5
       AND coalesce(array_lower(t, 1), 1) = 1
       AND NOT EXISTS (
           SELECT 1 FROM unnest(t) WITH ORDINALITY AS a(v, i)
           WHERE v IS NULL OR v < 1 OR v > 99 OR (i > 1 AND v <= t[i - 1])
       )
$$;
ALTER TABLE chat_usage_limit_config
    ADD COLUMN warning_thresholds_percent integer[] NOT NULL DEFAULT '{75,90}'
        CHECK (valid_warning_thresholds(warning_thresholds_percent));

-- One row per committed change of the configuration or an override, written by the triggers
-- below in the changing transaction: no writer (GraphQL, command line, importer, psql) can change
-- a limit unrecorded, and a rolled-back change leaves no row. No foreign keys: the log outlives
-- what it names (an organization's groups are deleted with it).
CREATE TABLE chat_usage_limit_changes (
    id                                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                                timestamptz NOT NULL DEFAULT now(),
    kind                              text        NOT NULL
        CHECK (kind IN ('config', 'user_override', 'group_override')),
    -- Who: a user's token, a service token, or neither (the command line, a migration, psql).
    actor_user_id                     uuid,
    actor_service                     text        CHECK (actor_service IN ('chatd')),
    user_id                           uuid,
    group_id                          uuid,
    -- NULL where there was none: an override created or deleted, limits off.
    old_spend_limit_micros            bigint,
    new_spend_limit_micros            bigint,
    -- CONFIG only.
    old_enabled                       boolean,
    new_enabled                       boolean,
    old_period                        text,
    new_period                        text,
    old_enforcement_mode              text,
    new_enforcement_mode              text,
    old_reservation_ttl_seconds       integer,
    new_reservation_ttl_seconds       integer,
    old_warning_thresholds_percent    integer[],
    new_warning_thresholds_percent    integer[],
    CHECK (actor_user_id IS NULL OR actor_service IS NULL),
    CHECK ((kind = 'user_override') = (user_id IS NOT NULL)),
    CHECK ((kind = 'group_override') = (group_id IS NOT NULL))
);
CREATE INDEX chat_usage_limit_changes_at_idx ON chat_usage_limit_changes (at DESC, id DESC);
CREATE INDEX chat_usage_limit_changes_user_idx
    ON chat_usage_limit_changes (user_id, at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX chat_usage_limit_changes_group_idx
    ON chat_usage_limit_changes (group_id, at DESC, id DESC) WHERE group_id IS NOT NULL;

-- The actor comes from transaction-local settings that every writer sets
-- (set_config('spendlimits.actor_user_id', ..., true)); unset or empty means no user.
CREATE FUNCTION chat_usage_limit_actor_user() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('spendlimits.actor_user_id', true), '')::uuid
$$;
CREATE FUNCTION chat_usage_limit_actor_service() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('spendlimits.actor_service', true), '')
$$;

CREATE FUNCTION record_config_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_usage_limit_changes (
        kind, actor_user_id, actor_service,
        old_spend_limit_micros, new_spend_limit_micros, old_enabled, new_enabled,
        old_period, new_period, old_enforcement_mode, new_enforcement_mode,
        old_reservation_ttl_seconds, new_reservation_ttl_seconds,
        old_warning_thresholds_percent, new_warning_thresholds_percent)
    VALUES (
        'config', chat_usage_limit_actor_user(), chat_usage_limit_actor_service(),
        CASE WHEN OLD.enabled THEN OLD.default_limit_micros END,
        CASE WHEN NEW.enabled THEN NEW.default_limit_micros END,
        OLD.enabled, NEW.enabled, OLD.period, NEW.period,
        OLD.enforcement_mode, NEW.enforcement_mode,
        OLD.reservation_ttl_seconds, NEW.reservation_ttl_seconds,
        OLD.warning_thresholds_percent, NEW.warning_thresholds_percent);
    RETURN NULL;
END;
$$;
-- updated_at alone is no change.
CREATE TRIGGER chat_usage_limit_config_audit
    AFTER UPDATE ON chat_usage_limit_config FOR EACH ROW
    WHEN ((OLD.enabled, OLD.default_limit_micros, OLD.period, OLD.enforcement_mode,
           OLD.reservation_ttl_seconds, OLD.warning_thresholds_percent)
          IS DISTINCT FROM
          (NEW.enabled, NEW.default_limit_micros, NEW.period, NEW.enforcement_mode,
           NEW.reservation_ttl_seconds, NEW.warning_thresholds_percent))
    EXECUTE FUNCTION record_config_change();

-- One function for users and groups: TG_TABLE_NAME says which.
CREATE FUNCTION record_override_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    subject uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    old_limit bigint := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.chat_spend_limit_micros END;
    new_limit bigint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.chat_spend_limit_micros END;
BEGIN
    IF old_limit IS NOT DISTINCT FROM new_limit THEN
        RETURN NULL;
    END IF;
    INSERT INTO chat_usage_limit_changes (
        kind, actor_user_id, actor_service, user_id, group_id,
        old_spend_limit_micros, new_spend_limit_micros)
    VALUES (
        CASE TG_TABLE_NAME WHEN 'users' THEN 'user_override' ELSE 'group_override' END,
        chat_usage_limit_actor_user(), chat_usage_limit_actor_service(),
        CASE WHEN TG_TABLE_NAME = 'users' THEN subject END,
        CASE WHEN TG_TABLE_NAME = 'groups' THEN subject END,
        old_limit, new_limit);
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_override_audit
    AFTER INSERT OR DELETE OR UPDATE OF chat_spend_limit_micros ON users
    FOR EACH ROW EXECUTE FUNCTION record_override_change();
CREATE TRIGGER groups_override_audit
    AFTER INSERT OR DELETE OR UPDATE OF chat_spend_limit_micros ON groups
    FOR EACH ROW EXECUTE FUNCTION record_override_change();

-- Append-only: the service may add entries (through the triggers) but never change or remove one.
CREATE FUNCTION refuse_audit_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'chat_usage_limit_changes is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER chat_usage_limit_changes_append_only
    BEFORE UPDATE OR DELETE ON chat_usage_limit_changes
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_rewrite();
CREATE TRIGGER chat_usage_limit_changes_no_truncate
    BEFORE TRUNCATE ON chat_usage_limit_changes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_rewrite();

-- The ranking sums one period of the rollup for every user: an index-only scan of this index
-- reads just the period's rows instead of every user's whole history.
CREATE INDEX chat_spend_daily_day_idx ON chat_spend_daily (day) INCLUDE (user_id, organization_id, spend_micros);
-- An organization's spend history reads its days without visiting every user's rows.
CREATE INDEX chat_spend_daily_organization_day_idx ON chat_spend_daily (organization_id, day) INCLUDE (spend_micros);
