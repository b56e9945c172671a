-- A year of calls (issue 25): the newest calls of one card, one number or one operator come straight off an
-- index in the order the pages show them (started_at DESC, id DESC), never by sorting all of a party's calls.
-- The card's timeline and calls (crm/timeline.py, crm/calls/queries.calls_of_counterparty) read the newest of
-- each party and each of its numbers; the call log's operator filter is on the operator column as the page
-- shows it (who took the call, else whose phone placed it: crm/calls/listing.OPERATOR). Each replaces an index
-- that led with the same column, so exact lookups keep their index.
-- The card's and the operator's carry the columns the call rules read (crm/calls/rules_sql.CALL_FACTS: who
-- took part, the card), so the call log's capped count of one client's or one operator's calls reads the index
-- alone, not 10,000 table pages spread over a year (0.3 s -> a few ms on 10,000,000 calls).
CREATE INDEX calls_counterparty_order_idx ON calls (counterparty_id, started_at DESC, id DESC)
    INCLUDE (operator_user_id, caller_user_id);
DROP INDEX calls_counterparty_idx;
CREATE INDEX calls_caller_order_idx ON calls (caller_normalized, started_at DESC, id DESC);
DROP INDEX calls_caller_idx;
CREATE INDEX calls_called_order_idx ON calls (called_normalized, started_at DESC, id DESC);
DROP INDEX calls_called_idx;
CREATE INDEX calls_operator_order_idx ON calls (coalesce(operator_user_id, caller_user_id), started_at DESC, id DESC)
    INCLUDE (operator_user_id, caller_user_id, counterparty_id);
DROP INDEX calls_operator_idx;
