-- The hierarchy resolved for a whole batch of users at once (docs/insight.md, the ranking's share
-- filter resolves ~4k candidates in one call): spendlimits_resolve keeps its rule, its signature
-- and its callers (the check's and every reserve's status, the reads of limits); only the way it
-- finds each user's lowest limited group changes.
--
-- 1. group_members_expanded, the one home of "who is in a group", drops deleted users with an
--    anti-join against the deleted ones (a few, in users_deleted_idx of migration 000008) instead
--    of joining every membership to its user row. The same rows: every membership's user exists
--    (group_members and organization_members reference users), so "its user is not deleted" and
--    "no deleted user has its id" say the same. Reading one user's groups no longer probes the
--    users table twice; a whole group's members (history, the live status of a group change) no
--    longer hash the users table.

CREATE OR REPLACE VIEW group_members_expanded AS
    SELECT gm.group_id, gm.user_id, g.organization_id
    FROM group_members gm
    JOIN groups g ON g.id = gm.group_id
    WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = gm.user_id AND u.deleted)
    UNION ALL
    SELECT om.organization_id AS group_id, om.user_id, om.organization_id
    FROM organization_members om
    WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = om.user_id AND u.deleted);

-- 2. spendlimits_resolve, set-based. Migration 000003 looked up each key's lowest group in a
--    lateral subquery, one index descent per table and per key through the view (about 20 us a
--    key: 84 ms for the share filter's 4k candidates). Now the memberships of every requested user
--    come from one scan per arm of the view (user_id = ANY(...) is pushed into both), joined to the
--    groups with a limit, and the lowest per key is picked by one sort: 4k keys 1.5-2x faster; one
--    key (the check, a reserve) costs about 3% more per round trip, nothing measurable inside the
--    server (BENCHMARKS.md, "Ranking share filter, set-based resolution"). The rule is unchanged:
-- 1. limits disabled: unlimited ('disabled'), overrides included;
-- 2. the user's own override, whatever its value ('user');
-- 3. the lowest override among the user's groups, Everyone groups included, only groups of the
--    organization when one is given ('group'; ties: smallest group name, then id);
-- 4. the default limit ('default').
-- scope_organization_id is the organization whose spend and holds count against the limit; NULL
-- when every organization of the user counts. Only a group limit asked about for an organization
-- is scoped. Row idx answers pair idx (1-based); users that do not exist are left out; rows come
-- in no particular order (every caller keys them by idx).
CREATE OR REPLACE FUNCTION spendlimits_resolve(p_user_ids uuid[], p_organization_ids uuid[])
RETURNS TABLE (idx bigint, user_id uuid, organization_id uuid, period text, source text,
               limit_micros bigint, group_id uuid, scope_organization_id uuid)
LANGUAGE sql STABLE AS $$
    WITH keys AS (
        SELECT k.idx, k.user_id, k.organization_id, u.chat_spend_limit_micros AS own_limit
        FROM unnest(p_user_ids, p_organization_ids) WITH ORDINALITY AS k(user_id, organization_id, idx)
        JOIN users u ON u.id = k.user_id
    ),
    -- The limited groups of every requested user (the view drops deleted users), read once even
    -- when a user is asked about for several organizations.
    limited AS (
        SELECT m.user_id, m.organization_id, g.id, g.name, g.chat_spend_limit_micros
        FROM group_members_expanded m
        JOIN groups g ON g.id = m.group_id
        WHERE m.user_id = ANY (p_user_ids)
          AND g.chat_spend_limit_micros IS NOT NULL
    ),
    -- Looked at only where it can win: no personal override (whether limits are on is read below,
    -- once, rather than in this join's plan, which every single-user check runs).
    lowest AS (
        SELECT DISTINCT ON (k.idx) k.idx, l.id, l.chat_spend_limit_micros
        FROM keys k
        JOIN limited l ON l.user_id = k.user_id
        WHERE k.own_limit IS NULL
          AND (k.organization_id IS NULL OR l.organization_id = k.organization_id)
        ORDER BY k.idx, l.chat_spend_limit_micros, l.name, l.id
    )
    SELECT k.idx, k.user_id, k.organization_id, c.period,
           CASE
               WHEN NOT c.enabled THEN 'disabled'
               WHEN k.own_limit IS NOT NULL THEN 'user'
               WHEN g.id IS NOT NULL THEN 'group'
               ELSE 'default'
           END,
           CASE WHEN c.enabled
                THEN coalesce(k.own_limit, g.chat_spend_limit_micros, c.default_limit_micros)
           END,
           CASE WHEN c.enabled THEN g.id END,
           CASE WHEN c.enabled AND g.id IS NOT NULL THEN k.organization_id END
    FROM keys k
    CROSS JOIN chat_usage_limit_config c
    LEFT JOIN lowest g ON g.idx = k.idx
$$;
