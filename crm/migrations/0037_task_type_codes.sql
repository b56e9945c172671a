-- Task types found by a stable key, not by their name (issue 20, H8, H10): the code finds the
-- types the product itself uses ("callback": a missed call's task, crm/tasks/callbacks.py;
-- "scheduled_call": a call list's row, crm/imports/call_lists.py), whatever the admin renames
-- them to. The admin's own types have no code.
ALTER TABLE task_types ADD COLUMN code text UNIQUE CHECK (code ~ '^[a-z_]{1,40}$');

-- The types migration 0004 made, by the name they still have (case as the product looked them up).
UPDATE task_types SET code = CASE lower(name)
        WHEN 'task' THEN 'task' WHEN 'call back' THEN 'callback' WHEN 'meeting' THEN 'meeting'
        WHEN 'scheduled call' THEN 'scheduled_call' WHEN 'deal' THEN 'deal' END
    WHERE lower(name) IN ('task', 'call back', 'meeting', 'scheduled call', 'deal');

-- A "Call back" or "Scheduled call" renamed before this migration cannot be told from the admin's
-- own types: the product had stopped finding it. It gets its type again, beside the renamed one
-- (nothing is changed or lost; the admin may archive either).
INSERT INTO task_types (name, code)
    SELECT v.name, v.code FROM (VALUES ('Call back', 'callback'), ('Scheduled call', 'scheduled_call')) v (name, code)
    WHERE NOT EXISTS (SELECT 1 FROM task_types t WHERE t.code = v.code)
      AND NOT EXISTS (SELECT 1 FROM task_types t WHERE lower(t.name) = lower(v.name));

-- A call list's number in its own field with a dial button (H8): the task's number to call,
-- kept in callback_number/callback_normalized (migration 0022) as a stranger's callback keeps it.
