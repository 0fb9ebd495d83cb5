-- Three directory rules the database now enforces for every writer (API, importer, CLI, psql).

-- 1. A child (sub-agent) chat belongs to its parent's organization, as it already has its parent's
-- owner: otherwise a sub-agent chat in organization B escapes organization A's group limit.
-- The key below is the target of the foreign key; (id) alone is already unique, so it costs an
-- index and nothing else.
ALTER TABLE chats ADD CONSTRAINT chats_id_owner_organization_key UNIQUE (id, owner_id, organization_id);
-- NOT VALID: enforced for every row written from now on, while a deployed database that already
-- holds such a chat still migrates. Those rows are kept as they are (their spend was recorded in
-- the organization they name, and a chat's attribution never changes); docs/api.md says how to
-- list them. A database without any is validated here and then fully checked.
ALTER TABLE chats ADD CONSTRAINT chats_parent_same_organization
    FOREIGN KEY (parent_chat_id, owner_id, organization_id) REFERENCES chats (id, owner_id, organization_id)
    NOT VALID;
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM chats c JOIN chats p ON p.id = c.parent_chat_id
        WHERE p.organization_id <> c.organization_id
    ) THEN
        ALTER TABLE chats VALIDATE CONSTRAINT chats_parent_same_organization;
    END IF;
END;
$$;

-- 2. Deleting a user clears their override: a deleted user is never listed, so an override left
-- behind could not be seen or removed, yet came back into force if the row was ever un-deleted.
-- The trigger clears it for every writer; the CHECK keeps an override off a deleted user.
-- Overrides already left on deleted users are cleared here.
UPDATE users SET chat_spend_limit_micros = NULL WHERE deleted AND chat_spend_limit_micros IS NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_deleted_without_override
    CHECK (NOT deleted OR chat_spend_limit_micros IS NULL);
CREATE FUNCTION clear_deleted_user_override() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.chat_spend_limit_micros := NULL;
    RETURN NEW;
END;
$$;
CREATE TRIGGER users_deleted_clears_override
    BEFORE UPDATE OF deleted ON users FOR EACH ROW
    WHEN (NEW.deleted AND NOT OLD.deleted)
    EXECUTE FUNCTION clear_deleted_user_override();

-- 3. The last live owner can be neither deleted nor demoted: a deployment nobody can administer
-- cannot be repaired through the API. A deployment with no owner at all (a fresh one) is left
-- alone: only a change that takes away an owner is checked.
--
-- Concurrency: two owners demoting each other at once must not leave zero. The check runs after
-- the change and locks the owners it counts (FOR SHARE): an owner row another transaction is
-- changing is waited for and re-read, so an uncommitted demotion is never counted as an owner, and
-- in REPEATABLE READ or SERIALIZABLE an owner demoted after the snapshot raises a serialization
-- failure instead. Every statement that may take away an owner first takes one transaction-level
-- advisory lock, before it locks any row: two such statements then run one after the other
-- instead of each locking its own row and waiting for the other's (a deadlock).
CREATE FUNCTION lock_owners() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('spendlimits.users.owners'));
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_lock_owners
    BEFORE UPDATE OF role, deleted OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION lock_owners();

CREATE FUNCTION keep_an_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users WHERE role = 'owner' AND NOT deleted FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the last owner cannot be deleted or demoted'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'users_keep_an_owner';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_keep_an_owner_update
    AFTER UPDATE OF role, deleted ON users FOR EACH ROW
    WHEN (OLD.role = 'owner' AND NOT OLD.deleted AND (NEW.role <> 'owner' OR NEW.deleted))
    EXECUTE FUNCTION keep_an_owner();
CREATE TRIGGER users_keep_an_owner_delete
    AFTER DELETE ON users FOR EACH ROW
    WHEN (OLD.role = 'owner' AND NOT OLD.deleted)
    EXECUTE FUNCTION keep_an_owner();
