"""The pbxcrm command line: one entry point for every process and admin task."""
