-- Who may listen to a call is decided when it happens (issue 12): the responsible manager of
-- the client the call was matched to then, kept on the call. Re-attaching the call later
-- moves it to another card but gives its recording to nobody new.
ALTER TABLE calls ADD COLUMN owner_user_id bigint REFERENCES users (id);
-- Calls logged before this column existed: the best we know is the current client's manager.
UPDATE calls c SET owner_user_id = cp.responsible_user_id
FROM counterparties cp WHERE cp.id = c.counterparty_id AND cp.responsible_user_id IS NOT NULL;
