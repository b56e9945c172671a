-- A phone number's extension ("8 495 123-45-67 доб. 123"), kept apart from the number (issue 12).
-- `value` holds the main number as written, `normalized` its E.164, `extension` the digits
-- dialled after it (NULL: none). A call never carries an extension: it is matched by the main
-- number alone. Existing contacts keep what they have and get no extension.
ALTER TABLE contacts ADD COLUMN extension text
    CHECK (extension IS NULL OR (extension ~ '^[0-9]{1,8}$' AND kind IN ('phone', 'fax')));

-- One main number may be on several cards with different extensions (an office switchboard:
-- the company's card without one, each employee's with theirs); the same number with the same
-- extension (or both without) stays on one card only. Lookups by number still use this index.
CREATE UNIQUE INDEX contacts_normalized_extension_key ON contacts (normalized, coalesce(extension, ''))
    WHERE deleted_at IS NULL;
DROP INDEX contacts_normalized_key;
