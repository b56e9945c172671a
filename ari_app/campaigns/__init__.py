"""The campaign dialer (issue 22): progressive and predictive campaigns dialled from the Stasis app."""
