"""The browser phone (issue 19): a user's PJSIP endpoint over secure websocket, with DTLS-SRTP."""
