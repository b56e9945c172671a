"""The second factor at login (issue 17, FEATURES.md G4): TOTP codes and recovery codes."""
