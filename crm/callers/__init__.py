"""People who call: the numbers that are on no card yet (issue 15)."""
