"""Orders from web shops on the card (issue 24, FEATURES K1); not issue 22's call-list orders (crm/orders)."""
