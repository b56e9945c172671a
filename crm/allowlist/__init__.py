"""IP allow-lists (issue 17, FEATURES.md G4): the networks each role, or one user, may work from."""
