DROP TRIGGER users_keep_an_owner_delete ON users;
DROP TRIGGER users_keep_an_owner_update ON users;
DROP FUNCTION keep_an_owner();
DROP TRIGGER users_lock_owners ON users;
DROP FUNCTION lock_owners();
DROP TRIGGER users_deleted_clears_override ON users;
DROP FUNCTION clear_deleted_user_override();
-- Cleared overrides are not restored: they belonged to deleted users, who are never enforced.
ALTER TABLE users DROP CONSTRAINT users_deleted_without_override;
ALTER TABLE chats DROP CONSTRAINT chats_parent_same_organization;
ALTER TABLE chats DROP CONSTRAINT chats_id_owner_organization_key;
