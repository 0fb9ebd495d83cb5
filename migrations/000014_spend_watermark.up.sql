-- Inserted messages are folded from the table itself, past a watermark (issue #10;
-- docs/spend-journal.md).
--
-- Since 000012 every message insert appended a journal row through a statement trigger: a second
-- row, its index entry and a trigger's plan per write. That was the whole remaining price of a
-- journaled write: 16 writers of one user reached 0.82-0.87 of plain inserts, and no way of
-- appending a row measured more than about 0.05 better (bench/journal_levers.py). Now an insert
-- writes nothing but the message, which carries the id of the transaction that wrote it:
--
--   chat_messages.recorded_xid   the writer's top-level transaction id, by default; indexed by
--                                (owner, id) for a user's reads and by id for the folder's;
--   chat_messages.owner_id, .organization_id
--                                the chat's owner and organization, on the message so that a
--                                user's unfolded messages are one index range away (a chat's
--                                owner and organization never change: 000001). Writers that know
--                                them pass them (the service does); for the others a BEFORE row
--                                trigger fills them in; a foreign key to the chat checks them;
--   spendlimits_spend_folded     the snapshot of the last fold: a message whose transaction that
--                                snapshot saw committed is in the folded rows, every other one is
--                                not (a transaction running at the fold, or newer than it);
--   chat_spend_journal           now the corrections alone: an UPDATE or DELETE of messages
--                                appends its net change per key, with the transaction id of the
--                                message versions it changed (message_xid);
--   chat_spend_unfolded          a view: the messages the last fold did not see, and the
--                                corrections of the messages it did (a correction of a version no
--                                fold saw has nothing to correct: the message itself is read as it
--                                is now);
--   chat_spend_daily, chat_spend_period_totals
--                                the folded rows UNION ALL chat_spend_unfolded, as before;
--   spendlimits_statuses         the decision's statement (000003) reads its user's unfolded rows
--                                by the user, not through the views (the two functions below).
--
-- Exactness, in one snapshot: a reader (or the fold) reads the last fold's snapshot, the folded rows
-- and the messages and corrections in one statement, and a fold moves messages and corrections into
-- the folded rows and records its own snapshot in one transaction. A correction of version v of a
-- message is counted once the last fold's snapshot sees v's transaction: then a fold saw v, either
-- v itself (folded, to be corrected) or a later version, whose fold took the correction with it, so
-- a correction still in the journal means v was folded. A long transaction holds nothing back: it
-- stays in the fold's list of running transactions, its messages read by their transaction id.

-- No writer may insert through the old trigger after its journal is folded: writers queue on
-- chat_messages until this migration commits; readers carry on. The folder's lock is taken (and
-- waited for) so that the fold below moves everything.
LOCK TABLE chat_messages IN SHARE MODE;
SELECT pg_advisory_xact_lock(1397772874);
SELECT spendlimits_fold_spend_journal();

DROP TRIGGER chat_messages_rollup_insert ON chat_messages;

-- '0' for every message written so far (a constant default: no rewrite of the table), which every
-- snapshot sees committed: all of them are folded above. New messages get their transaction's id.
ALTER TABLE chat_messages ADD COLUMN recorded_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE chat_messages ALTER COLUMN recorded_xid SET DEFAULT pg_current_xact_id();
COMMENT ON COLUMN chat_messages.recorded_xid IS
    'The transaction that wrote the message (its default): what the spend folder reads. Never set it.';

-- NULL for every message written so far: those are folded, and the rollup's corrections of them
-- read their chat. Every later message gets them (below), and a user's unfolded messages are read
-- by them.
ALTER TABLE chat_messages ADD COLUMN owner_id uuid, ADD COLUMN organization_id uuid;
-- What the foreign key below refers to (the chat's key with its fixed attribution).
ALTER TABLE chats ADD CONSTRAINT chats_attribution_key UNIQUE (id, owner_id, organization_id);
-- A writer that passes them cannot pass wrong ones. The existing key (chat_id) stays: it is what
-- a message of a chat that does not exist fails on, as before.
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_attribution_fkey
    FOREIGN KEY (chat_id, owner_id, organization_id) REFERENCES chats (id, owner_id, organization_id);

-- A writer that leaves them out (SQL by hand, the platform writing directly) gets them from the
-- chat; so does a message moved to another chat, or one whose attribution an UPDATE clears. The
-- service passes them, so its inserts skip the trigger (the WHEN is checked without calling it).
CREATE FUNCTION chat_messages_attribution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A missing chat leaves them NULL: the chat_id foreign key then fails as it always has.
    SELECT c.owner_id, c.organization_id INTO NEW.owner_id, NEW.organization_id
    FROM chats c WHERE c.id = NEW.chat_id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER chat_messages_attribution_insert
    BEFORE INSERT ON chat_messages FOR EACH ROW
    WHEN (NEW.owner_id IS NULL OR NEW.organization_id IS NULL)
    EXECUTE FUNCTION chat_messages_attribution();
CREATE TRIGGER chat_messages_attribution_update
    BEFORE UPDATE OF chat_id, owner_id, organization_id, recorded_xid ON chat_messages FOR EACH ROW
    WHEN (NEW.chat_id IS DISTINCT FROM OLD.chat_id OR NEW.owner_id IS NULL OR NEW.organization_id IS NULL)
    EXECUTE FUNCTION chat_messages_attribution();

-- A user's messages not yet folded: one range past the fold, and a probe for each transaction
-- running at it.
CREATE INDEX chat_messages_unfolded_idx ON chat_messages (owner_id, recorded_xid)
    WHERE total_cost_micros IS NOT NULL;
-- Everyone's, for the folder and the ranking. Its predicate is in words that only their query uses
-- (spendlimits_spend_unfolded_rows() says why).
CREATE INDEX chat_messages_recorded_xid_idx ON chat_messages (recorded_xid)
    WHERE total_cost_micros >= 0;

-- The journal is empty (folded above and locked): the column needs no default.
ALTER TABLE chat_spend_journal ADD COLUMN message_xid xid8 NOT NULL;

CREATE TABLE spendlimits_spend_folded (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    -- The snapshot of the statement that folded last.
    upto      pg_snapshot NOT NULL
);
-- Every message written so far is folded; every transaction this snapshot does not see committed
-- (those queued behind this migration, and later ones) is not.
INSERT INTO spendlimits_spend_folded (upto) VALUES (pg_current_snapshot());

-- ``snapshot`` with ``running`` among its running transactions (NULL: none to add; one past the
-- snapshot's xmax is not seen committed already). The fold records its snapshot through it.
CREATE FUNCTION spendlimits_snapshot_with_running(snapshot pg_snapshot, running xid8) RETURNS pg_snapshot
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN running IS NULL OR running >= pg_snapshot_xmax(snapshot) THEN snapshot ELSE (
        least(pg_snapshot_xmin(snapshot), running) || ':' || pg_snapshot_xmax(snapshot) || ':'
        || array_to_string(ARRAY(SELECT x FROM pg_snapshot_xip(snapshot) x UNION SELECT running ORDER BY 1), ',')
    )::pg_snapshot END;

-- The rule: the rows the folded rows lack as of the last fold's snapshot, signed, several per
-- (user, UTC day, organization):
--   - messages whose transaction that snapshot did not see committed: newer than its xmax, or
--     running at it (``journaled`` false);
--   - corrections of message versions whose transaction it saw committed (``journaled`` true).
-- ``recorded_xid``: the message's transaction, or the corrected version's. Two functions read it,
-- one user's rows and everyone's; they say the same in two shapes, which their plans need, and
-- tests/db/test_spend_watermark.py checks both against the messages after every step.
--
-- One user's (every decision): a SQL function that the planner inlines into the decision's
-- statement, given the watermark (``p_upto``, and its running transactions as an array) by its
-- caller, which reads it once per statement: the messages are compared with values, never through
-- a function call or a subquery per row or per user. One range of chat_messages_unfolded_idx
-- (owner, transaction id) past the snapshot's xmax, and one between its xmin and xmax for the
-- running list, find them, whatever everyone else has written. The owner makes that index the
-- cheapest path under any statistics (while chat_messages is nearly empty, as in a new deployment
-- until autovacuum first analyzes it, a plan cached then scans the table).
CREATE FUNCTION spendlimits_spend_unfolded_rows(p_user uuid, p_upto pg_snapshot, p_running xid8[])
RETURNS TABLE (user_id uuid, day date, organization_id uuid, delta_micros bigint, journaled boolean,
               recorded_xid xid8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT m.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, m.organization_id,
           m.total_cost_micros, false, m.recorded_xid
    FROM chat_messages m
    WHERE m.owner_id = p_user AND m.total_cost_micros IS NOT NULL
      AND m.recorded_xid >= pg_snapshot_xmax(p_upto)
    UNION ALL
    SELECT m.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, m.organization_id,
           m.total_cost_micros, false, m.recorded_xid
    FROM chat_messages m
    WHERE m.owner_id = p_user AND m.total_cost_micros IS NOT NULL
      -- The running transactions lie between the snapshot's xmin and xmax: that range is what the
      -- index reads (a plan may leave the list itself to a filter).
      AND m.recorded_xid >= pg_snapshot_xmin(p_upto) AND m.recorded_xid < pg_snapshot_xmax(p_upto)
      AND m.recorded_xid = ANY (p_running)
    UNION ALL
    SELECT j.user_id, j.day, j.organization_id, j.delta_micros, true, j.message_xid
    FROM chat_spend_journal j
    WHERE j.user_id = p_user AND pg_visible_in_snapshot(j.message_xid, p_upto)
$$;

-- Everyone's (the folder, the ranking, the views): PL/pgSQL, planned at each call (EXECUTE) with
-- the watermark's values, through chat_messages_recorded_xid_idx: a plan that saw the watermark
-- only as a joined row would guess a third of the table and scan it. That index's predicate
-- (total_cost_micros >= 0: the same rows as IS NOT NULL, costs are never negative) is written only
-- here, so a per-user plan cannot take it: the statistics never know how many messages are past
-- the watermark (they are newer than the last ANALYZE), and a per-user plan that could use it read
-- everyone's unfolded messages and filtered them by owner (2.9 ms with 20,000 of them).
CREATE FUNCTION spendlimits_spend_unfolded_rows()
RETURNS TABLE (user_id uuid, day date, organization_id uuid, delta_micros bigint, journaled boolean,
               recorded_xid xid8)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    upto pg_snapshot;
BEGIN
    SELECT f.upto INTO upto FROM spendlimits_spend_folded f;
    RETURN QUERY EXECUTE $q$
        SELECT m.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, m.organization_id,
               m.total_cost_micros, false, m.recorded_xid
        FROM chat_messages m
        WHERE m.total_cost_micros >= 0 AND m.recorded_xid >= $1
        UNION ALL
        SELECT m.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, m.organization_id,
               m.total_cost_micros, false, m.recorded_xid
        FROM chat_messages m
        WHERE m.total_cost_micros >= 0 AND m.recorded_xid = ANY ($2)
        UNION ALL
        SELECT j.user_id, j.day, j.organization_id, j.delta_micros, true, j.message_xid
        FROM chat_spend_journal j
        WHERE pg_visible_in_snapshot(j.message_xid, $3)
    $q$ USING pg_snapshot_xmax(upto), ARRAY(SELECT pg_snapshot_xip(upto)), upto;
END;
$$;

-- Everyone's unfolded rows: the folder and the ranking read it whole. A reader of one user reads
-- spendlimits_spend_unfolded_rows(user, ...) (as spendlimits_statuses does) rather than filter this.
CREATE VIEW chat_spend_unfolded AS
    SELECT user_id, day, organization_id, delta_micros, journaled, recorded_xid
    FROM spendlimits_spend_unfolded_rows();

CREATE OR REPLACE VIEW chat_spend_daily AS
    SELECT user_id, day, organization_id, spend_micros FROM chat_spend_daily_folded
    UNION ALL
    SELECT user_id, day, organization_id, delta_micros FROM chat_spend_unfolded;

CREATE OR REPLACE VIEW chat_spend_period_totals AS
    SELECT user_id, period, period_start, spend_micros FROM chat_spend_period_totals_folded
    UNION ALL
    SELECT u.user_id, p.period, p.period_start, u.delta_micros
    FROM chat_spend_unfolded u
    CROSS JOIN LATERAL (VALUES
        ('day', u.day),
        ('week', date_trunc('week', u.day::timestamp)::date),
        ('month', date_trunc('month', u.day::timestamp)::date)) AS p(period, period_start);

-- The decision's statement (migration 000003) reads its user's unfolded rows by the user.
CREATE OR REPLACE FUNCTION spendlimits_statuses(
    p_user_ids uuid[], p_organization_ids uuid[],
    p_window_keys bigint[], p_window_periods text[], p_window_first_days date[], p_window_end_days date[],
    p_now timestamptz)
RETURNS TABLE (idx bigint, user_id uuid, organization_id uuid, source text, limit_micros bigint,
               group_id uuid, period text, scope_organization_id uuid, spend_micros bigint,
               held_micros bigint, allowed boolean, enforcement_mode text)
LANGUAGE sql STABLE AS $$
    WITH resolved AS (
        SELECT * FROM spendlimits_resolve(p_user_ids, p_organization_ids)
    ),
    windows AS (
        SELECT w.idx, w.period, w.first_day, w.end_day
        FROM unnest(p_window_keys, p_window_periods, p_window_first_days, p_window_end_days)
             AS w(idx, period, first_day, end_day)
    ),
    -- The last fold's snapshot, read once for the whole statement (migration 000014).
    watermark AS MATERIALIZED (
        SELECT f.upto, ARRAY(SELECT pg_snapshot_xip(f.upto)) AS running FROM spendlimits_spend_folded f
    ),
    -- Each user's folded rows by their key, and their unfolded rows through
    -- spendlimits_spend_unfolded_rows(user, ...): a range and a few probes of the user's own index
    -- entries, whatever everyone else has written since the last fold.
    -- Each limited user with its period's days, joined once as sets (materialized: the probes
    -- below run per row of it; joined inside them, the windows were rescanned for every user, and
    -- the ranking's statement for 10,000 users took 4.4 s).
    limited AS MATERIALIZED (
        SELECT r.idx, r.user_id, r.scope_organization_id, w.first_day, w.end_day
        FROM resolved r
        JOIN windows w ON w.idx = r.idx AND w.period = r.period
        WHERE r.limit_micros IS NOT NULL
    ),
    spent AS (
        SELECT l.idx, sum(d.spend_micros)::bigint AS spend_micros
        FROM limited l
        CROSS JOIN watermark wm
        CROSS JOIN LATERAL (
            SELECT f.spend_micros, f.organization_id FROM chat_spend_daily_folded f
            WHERE f.user_id = l.user_id AND f.day >= l.first_day AND f.day < l.end_day
            UNION ALL
            SELECT u.delta_micros, u.organization_id
            FROM spendlimits_spend_unfolded_rows(l.user_id, wm.upto, wm.running) u
            WHERE u.day >= l.first_day AND u.day < l.end_day
        ) d
        WHERE l.scope_organization_id IS NULL OR d.organization_id = l.scope_organization_id
        GROUP BY l.idx
    ),
    held AS (
        SELECT r.idx, sum(h.amount_micros)::bigint AS held_micros
        FROM resolved r
        JOIN windows w ON w.idx = r.idx AND w.period = r.period
        JOIN chat_spend_reservations h
          ON h.user_id = r.user_id AND h.state = 'held' AND h.expires_at > p_now
        WHERE r.limit_micros IS NOT NULL
          AND (p_now AT TIME ZONE 'UTC')::date >= w.first_day
          AND (p_now AT TIME ZONE 'UTC')::date < w.end_day
          AND (r.scope_organization_id IS NULL OR h.organization_id IS NULL
               OR h.organization_id = r.scope_organization_id)
        GROUP BY r.idx
    )
    SELECT r.idx, r.user_id, r.organization_id, r.source, r.limit_micros, r.group_id, r.period,
           r.scope_organization_id,
           coalesce(s.spend_micros, 0)::bigint, coalesce(h.held_micros, 0)::bigint,
           spendlimits_admits(r.limit_micros, coalesce(s.spend_micros, 0), coalesce(h.held_micros, 0), NULL),
           -- Read along so that a decision that later cannot be evaluated knows how to fail.
           (SELECT c.enforcement_mode FROM chat_usage_limit_config c)
    FROM resolved r
    LEFT JOIN spent s ON s.idx = r.idx
    LEFT JOIN held h ON h.idx = r.idx
$$;

-- Updates and deletes of messages append their net change per (user, day, organization) and the
-- transaction id of the versions they changed: -old under the old version's id, +new under the new
-- one's (the same id, unless a writer changed it: each side then follows its own). Unpriced costs
-- count nothing; a change that nets to zero (a soft delete, a cost rewritten to itself) appends
-- nothing. Inserts have no trigger: the message is its own record.
CREATE OR REPLACE FUNCTION chat_spend_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO chat_spend_journal (user_id, day, organization_id, message_xid, delta_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, m.recorded_xid,
               sum(m.cost)
        FROM (SELECT chat_id, created_at, recorded_xid, total_cost_micros AS cost FROM new_rows
              UNION ALL
              SELECT chat_id, created_at, recorded_xid, -total_cost_micros FROM old_rows) m
        JOIN chats c ON c.id = m.chat_id
        WHERE m.cost IS NOT NULL
        GROUP BY 1, 2, 3, 4
        HAVING sum(m.cost) <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO chat_spend_journal (user_id, day, organization_id, message_xid, delta_micros)
        SELECT c.owner_id, (m.created_at AT TIME ZONE 'UTC')::date, c.organization_id, m.recorded_xid,
               -sum(m.total_cost_micros)
        FROM old_rows m JOIN chats c ON c.id = m.chat_id
        WHERE m.total_cost_micros IS NOT NULL
        GROUP BY 1, 2, 3, 4
        HAVING sum(m.total_cost_micros) <> 0;
    ELSE
        RAISE EXCEPTION 'chat_spend_daily_apply: % is not journaled', TG_OP;
    END IF;
    RETURN NULL;
END;
$$;

-- Moves what the last fold left (chat_spend_unfolded) into the folded rows, empties the journal
-- (the corrections it did not count correct versions no fold saw) and records this statement's
-- snapshot, in one statement; returns the messages and journal rows it took, NULL when another
-- session is folding. Everything the statement sees committed is folded, whatever is still running.
--
-- Increases are upserted, decreases are updates of rows that must exist (an upsert checks the
-- CHECK (spend_micros >= 0) on the row it proposes before it finds the conflict). A counted
-- correction lowers a folded row that holds the version it corrects, so none is missing unless the
-- folded rows were changed by hand; then the fold fails (and rolls back) rather than lose it.
CREATE OR REPLACE FUNCTION spendlimits_fold_spend_journal() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
    missing bigint;
    -- A fold in a transaction that has written already (a test, a script folding as it goes) is
    -- still running, as its later writes will be: its messages are left to a fold after it
    -- commits, and the snapshot recorded lists it as running. A statement's snapshot never lists
    -- its own transaction; recorded as it is, it would say that every later message of this
    -- transaction is folded.
    own xid8 := pg_current_xact_id_if_assigned();
BEGIN
    IF NOT pg_try_advisory_xact_lock(
            1397772874) THEN  -- 0x5350524A, "SPRJ": the one folder of the spend journal
        RETURN NULL;
    END IF;
    WITH unfolded AS MATERIALIZED (
        SELECT user_id, day, organization_id, delta_micros, journaled FROM chat_spend_unfolded
        WHERE journaled OR own IS NULL OR recorded_xid <> own
    ),
    taken AS (
        DELETE FROM chat_spend_journal RETURNING 1
    ),
    mark AS (
        UPDATE spendlimits_spend_folded
        SET upto = spendlimits_snapshot_with_running(pg_current_snapshot(), own) RETURNING 1
    ),
    daily AS (
        SELECT user_id, day, organization_id, sum(delta_micros)::bigint AS delta
        FROM unfolded
        GROUP BY 1, 2, 3
        HAVING sum(delta_micros) <> 0
    ),
    -- From the daily sums (000013): a user's day has one daily sum per organization.
    totals AS (
        SELECT k.user_id, p.period, p.period_start, sum(k.delta)::bigint AS delta
        FROM daily k
        CROSS JOIN LATERAL (VALUES
            ('day', k.day),
            ('week', date_trunc('week', k.day::timestamp)::date),
            ('month', date_trunc('month', k.day::timestamp)::date)) AS p(period, period_start)
        GROUP BY 1, 2, 3
        HAVING sum(k.delta) <> 0
    ),
    daily_up AS (
        INSERT INTO chat_spend_daily_folded AS d (user_id, day, organization_id, spend_micros)
        SELECT user_id, day, organization_id, delta FROM daily WHERE delta > 0
        ORDER BY 1, 2, 3
        ON CONFLICT (user_id, day, organization_id)
        DO UPDATE SET spend_micros = d.spend_micros + EXCLUDED.spend_micros
    ),
    daily_down AS (
        UPDATE chat_spend_daily_folded d SET spend_micros = d.spend_micros + k.delta
        FROM daily k
        WHERE k.delta < 0
          AND d.user_id = k.user_id AND d.day = k.day AND d.organization_id = k.organization_id
        RETURNING 1
    ),
    totals_up AS (
        INSERT INTO chat_spend_period_totals_folded AS t (user_id, period, period_start, spend_micros)
        SELECT user_id, period, period_start, delta FROM totals WHERE delta > 0
        ORDER BY 2, 3, 1
        ON CONFLICT (period, period_start, user_id)
        DO UPDATE SET spend_micros = t.spend_micros + EXCLUDED.spend_micros
    ),
    totals_down AS (
        UPDATE chat_spend_period_totals_folded t SET spend_micros = t.spend_micros + k.delta
        FROM totals k
        WHERE k.delta < 0
          AND t.period = k.period AND t.period_start = k.period_start AND t.user_id = k.user_id
        RETURNING 1
    )
    -- (mark, like the upserts, runs whether or not anything reads it.)
    SELECT (SELECT count(*) FROM unfolded WHERE NOT journaled) + (SELECT count(*) FROM taken),
           (SELECT count(*) FROM daily WHERE delta < 0) - (SELECT count(*) FROM daily_down)
         + (SELECT count(*) FROM totals WHERE delta < 0) - (SELECT count(*) FROM totals_down)
    INTO moved, missing;
    IF missing <> 0 THEN
        RAISE EXCEPTION 'spend fold: % decreases have no folded row to lower', missing
            USING ERRCODE = 'data_exception';
    END IF;
    RETURN moved;
END;
$$;
