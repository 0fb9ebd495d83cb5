-- Restores migration 000001's group_members_expanded (each membership joined to its user row)
-- and migration 000003's spendlimits_resolve (a lateral lookup per key).

CREATE OR REPLACE VIEW group_members_expanded AS
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

CREATE OR REPLACE FUNCTION spendlimits_resolve(p_user_ids uuid[], p_organization_ids uuid[])
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
