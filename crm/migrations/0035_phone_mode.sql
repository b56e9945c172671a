-- The browser phone (issue 19): which of a user's phones ring. 'desk' (every user so far: the
-- dial string, PJSIP/<extension> by default), 'browser' (the page's phone, PJSIP/webrtc-<extension>)
-- or 'both' (rung together: the first to answer takes the call).
ALTER TABLE users ADD COLUMN phone_mode text NOT NULL DEFAULT 'desk'
    CHECK (phone_mode IN ('desk', 'browser', 'both'));
