DROP TABLE chat_spend_reservations;
DROP FUNCTION check_reservation_message();
ALTER TABLE chat_usage_limit_config
    DROP COLUMN reservation_ttl_seconds,
    DROP COLUMN enforcement_mode;
