"""Dialling (issue 15): where each user's phone is rung (its channel technology), the outbound
dial rules that rewrite a number and choose its trunk, and following a user to a mobile."""
