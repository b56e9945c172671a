"""Click-to-call (H6): the web asks, the app rings the user's phone, then dials the number."""
