-- The UI's language and clock per user (issue 14). NULL: the call centre's setting
-- (app_settings 'locale.language'; the zone is PBXCRM_TIMEZONE), then the browser's language.
-- Existing users get NULL and so keep what they saw, in the language their browser asks for.
ALTER TABLE users ADD COLUMN language text CHECK (language IS NULL OR language IN ('ru', 'en'));
ALTER TABLE users ADD COLUMN timezone text
    CHECK (timezone IS NULL OR (length(timezone) BETWEEN 1 AND 64 AND timezone ~ '^[A-Za-z0-9_+/-]+$'));
