-- Live status (docs/live-status.md): every write that can change a user's limit status tells the
-- server processes which users it touched, with NOTIFY on one channel. Each process LISTENs on one
-- connection of its own and re-reads the status of the users named, after the commit.
--
-- The payload is the touched user ids, comma-separated, or '*' when the change concerns everyone
-- (the configuration) or too many users for one payload (NOTIFY payloads stop at 8000 bytes; 200
-- ids take 7400). PostgreSQL drops a notification identical to one already queued by the same
-- transaction, so a settle that writes a message and its reservation sends one.
--
-- Only watched users are notified: live_watches holds the users some server process has a
-- subscriber for, and the triggers send nothing for anyone else. PostgreSQL serialises the commits
-- of every transaction that sent a NOTIFY (one global lock on the notification queue), so
-- notifying every write cost 0.28 of the bare INSERT rate at concurrency 8; a write whose users
-- nobody watches now costs one index lookup and commits like any other.
--
-- Statement-level triggers with transition tables where writes come in batches (messages, holds,
-- memberships): one NOTIFY per statement, not per row. chat_spend_daily has no trigger: it changes
-- only with chat_messages, which already notifies.

-- One row per (user, server process) with a subscriber of that user. listener_pid is the backend pid
-- of the process's LISTEN connection: a process registers its users when that connection opens
-- (again after a reconnection) and removes its rows when it stops; rows of a process that died
-- without doing so are pruned by every live process against pg_stat_activity (its backend is gone
-- with it). UNLOGGED: the rows are worth nothing after a crash of PostgreSQL (every LISTEN
-- connection is gone too, and each process registers its users again when it reconnects), so
-- they need no WAL, and subscribing and leaving stay cheap. No foreign key to users: a row of a
-- deleted user is harmless and is removed with its subscriber.
CREATE UNLOGGED TABLE live_watches (
    user_id uuid NOT NULL,
    listener_pid integer NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, listener_pid)
);

CREATE FUNCTION live_status_notify(touched uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    watched uuid[];
BEGIN
    IF touched IS NULL OR cardinality(touched) = 0 THEN
        RETURN;
    END IF;
    -- Read in the trigger's own statement snapshot (READ COMMITTED): a watch committed before this
    -- point is seen; one committed later is covered by the subscriber's wait (docs/live-status.md).
    SELECT array_agg(DISTINCT w.user_id) INTO watched
    FROM live_watches w WHERE w.user_id = ANY (touched);
    IF watched IS NULL THEN
        RETURN;
    END IF;
    IF cardinality(watched) > 200 THEN
        PERFORM pg_notify('spendlimits_live_status', '*');
    ELSE
        PERFORM pg_notify('spendlimits_live_status', array_to_string(watched, ','));
    END IF;
END;
$$;

-- Messages: spend belongs to the chat's owner. Unpriced messages (NULL cost) change nothing.
CREATE FUNCTION live_status_messages() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT c.owner_id) INTO touched
        FROM new_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT c.owner_id) INTO touched
        FROM (SELECT chat_id, total_cost_micros, created_at FROM new_rows
              EXCEPT ALL
              SELECT chat_id, total_cost_micros, created_at FROM old_rows) m
        JOIN chats c ON c.id = m.chat_id;
    ELSE
        SELECT array_agg(DISTINCT c.owner_id) INTO touched
        FROM old_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL;
    END IF;
    PERFORM live_status_notify(touched);
    RETURN NULL;
END;
$$;
CREATE TRIGGER chat_messages_live_insert
    AFTER INSERT ON chat_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_messages();
CREATE TRIGGER chat_messages_live_update
    AFTER UPDATE ON chat_messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_messages();
CREATE TRIGGER chat_messages_live_delete
    AFTER DELETE ON chat_messages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_messages();

-- Holds: a reservation made, settled, released or tidied changes heldMicros of its user.
CREATE FUNCTION live_status_user_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT user_id) INTO touched FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT user_id) INTO touched
        FROM (SELECT user_id FROM new_rows UNION SELECT user_id FROM old_rows) u;
    ELSE
        SELECT array_agg(DISTINCT user_id) INTO touched FROM old_rows;
    END IF;
    PERFORM live_status_notify(touched);
    RETURN NULL;
END;
$$;
CREATE TRIGGER chat_spend_reservations_live_insert
    AFTER INSERT ON chat_spend_reservations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();
CREATE TRIGGER chat_spend_reservations_live_update
    AFTER UPDATE ON chat_spend_reservations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();
CREATE TRIGGER chat_spend_reservations_live_delete
    AFTER DELETE ON chat_spend_reservations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();

-- Memberships: joining or leaving a group or an organization (its Everyone group) can change
-- which group limit wins.
CREATE TRIGGER group_members_live_insert
    AFTER INSERT ON group_members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();
CREATE TRIGGER group_members_live_delete
    AFTER DELETE ON group_members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();
CREATE TRIGGER organization_members_live_insert
    AFTER INSERT ON organization_members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();
CREATE TRIGGER organization_members_live_delete
    AFTER DELETE ON organization_members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_user_rows();

-- A user's own override, or the user deleted (a deleted user belongs to no group). Row-level:
-- these are single-user writes, and the column list keeps every other update of users free.
CREATE FUNCTION live_status_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_status_notify(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_live_override
    AFTER UPDATE OF chat_spend_limit_micros, deleted ON users FOR EACH ROW
    WHEN (OLD.chat_spend_limit_micros IS DISTINCT FROM NEW.chat_spend_limit_micros
          OR OLD.deleted IS DISTINCT FROM NEW.deleted)
    EXECUTE FUNCTION live_status_user();

-- A group's override: every member of the group (the organization's members for Everyone).
CREATE FUNCTION live_status_group() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
    changed uuid;
BEGIN
    changed := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    SELECT array_agg(DISTINCT user_id) INTO touched FROM group_members_expanded WHERE group_id = changed;
    PERFORM live_status_notify(touched);
    RETURN NULL;
END;
$$;
CREATE TRIGGER groups_live_override
    AFTER UPDATE OF chat_spend_limit_micros ON groups FOR EACH ROW
    WHEN (OLD.chat_spend_limit_micros IS DISTINCT FROM NEW.chat_spend_limit_micros)
    EXECUTE FUNCTION live_status_group();
-- Deleting a group with an override: its explicit members leave through group_members' cascade,
-- but an Everyone group (deleted with its organization) has none; BEFORE, so they are still found.
CREATE TRIGGER groups_live_delete
    BEFORE DELETE ON groups FOR EACH ROW
    WHEN (OLD.chat_spend_limit_micros IS NOT NULL)
    EXECUTE FUNCTION live_status_group();

-- The configuration concerns everyone: '*', watched or not (it changes rarely).
CREATE FUNCTION live_status_everyone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('spendlimits_live_status', '*');
    RETURN NULL;
END;
$$;
CREATE TRIGGER chat_usage_limit_config_live
    AFTER INSERT OR UPDATE OR DELETE ON chat_usage_limit_config
    FOR EACH STATEMENT EXECUTE FUNCTION live_status_everyone();
