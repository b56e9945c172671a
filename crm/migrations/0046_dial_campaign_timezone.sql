-- Issue 22: whose clock a dial campaign's calling hours follow. '' (the default): each called person's
-- own (dial_campaign_numbers.tz: the card's zone, else the number's region, else the CRM's); a zone
-- name (Europe/Moscow): the same hours for every number, in that zone.
ALTER TABLE dial_campaigns ADD COLUMN timezone text NOT NULL DEFAULT '' CHECK (length(timezone) <= 60);
