-- The admin lists read one page through an index, whatever the size of the directory.
-- Pages are keyset pages in (username, id) or (name, id) order: the page statement descends the
-- index to the cursor and reads page-size rows; nothing is sorted, nothing before the cursor read.
CREATE INDEX users_list_live_idx ON users (username, id) WHERE NOT deleted;
CREATE INDEX users_list_all_idx ON users (username, id);
CREATE INDEX groups_list_idx ON groups (name, id);
CREATE INDEX groups_list_organization_idx ON groups (organization_id, name, id);

-- totalCount of the user list without a search, kept by statement triggers so that reading it is
-- one row instead of a count over every user. 'users' counts live users, 'users_all' every user.
-- Statement-level: one update per statement whatever it touches, and none when the counts do not
-- change (most updates of users: names, roles, overrides).
CREATE TABLE directory_counts (
    name text   PRIMARY KEY,
    n    bigint NOT NULL CHECK (n >= 0)
);
INSERT INTO directory_counts (name, n)
SELECT 'users', count(*) FILTER (WHERE NOT deleted) FROM users
UNION ALL
SELECT 'users_all', count(*) FROM users;

CREATE FUNCTION directory_counts_users_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_counts d SET n = d.n + c.delta
    FROM (
        SELECT 'users' AS name, count(*) FILTER (WHERE NOT deleted) AS delta FROM new_users
        UNION ALL SELECT 'users_all', count(*) FROM new_users
    ) c
    WHERE d.name = c.name AND c.delta <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION directory_counts_users_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_counts d SET n = d.n - c.delta
    FROM (
        SELECT 'users' AS name, count(*) FILTER (WHERE NOT deleted) AS delta FROM old_users
        UNION ALL SELECT 'users_all', count(*) FROM old_users
    ) c
    WHERE d.name = c.name AND c.delta <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION directory_counts_users_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_counts d SET n = d.n + c.delta
    FROM (
        SELECT 'users' AS name,
               (SELECT count(*) FROM new_users WHERE NOT deleted)
             - (SELECT count(*) FROM old_users WHERE NOT deleted) AS delta
    ) c
    WHERE d.name = c.name AND c.delta <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION directory_counts_users_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_counts SET n = 0 WHERE name IN ('users', 'users_all');
    RETURN NULL;
END $$;

CREATE TRIGGER directory_counts_users_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_users_insert();
CREATE TRIGGER directory_counts_users_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_users FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_users_delete();
CREATE TRIGGER directory_counts_users_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_users_update();
CREATE TRIGGER directory_counts_users_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION directory_counts_users_truncate();
