DROP FUNCTION spendlimits_settle(uuid, uuid, text, uuid, bigint, bigint, bigint, bigint, bigint, timestamptz, text, bytea, timestamptz);
DROP FUNCTION spendlimits_message_cost(bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint);
