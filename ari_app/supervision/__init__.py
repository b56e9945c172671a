"""Listen-in, whisper and barge, Stasis side (issue 18): the web's requests (crm/supervision/)
ring the supervisor's phone, which joins the call by a snoop or the call's bridge."""
