"""The `pbxcrm` command line, as an admin runs it."""

import os
import subprocess
import sys


def _pbxcrm(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pbxcrm", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_migrate_twice_applies_nothing_the_second_time(database_url):
    env = dict(os.environ, DATABASE_URL=database_url)
    # The test session migrated this database already.
    first = _pbxcrm("migrate", env=env)
    second = _pbxcrm("migrate", env=env)
    assert first.returncode == second.returncode == 0
    assert first.stdout.strip() == second.stdout.strip() == "applied 0 migration(s)"


def test_without_database_url_the_cli_says_what_is_missing():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    r = _pbxcrm("migrate", env=env)
    assert r.returncode == 2 and "DATABASE_URL is not set" in r.stderr


def test_create_user_refuses_a_taken_login(db, database_url):
    env = dict(os.environ, DATABASE_URL=database_url)
    ok = _pbxcrm("create-user", "--login", "anna", "--name", "Anna", "--role", "manager",
                 "--extension", "101", "--password", "long enough pw", env=env)
    assert ok.returncode == 0 and "created user anna" in ok.stdout
    again = _pbxcrm("create-user", "--login", "ANNA", "--name", "Anna 2", "--role", "operator",
                    "--password", "long enough pw", env=env)
    assert again.returncode == 1 and "taken" in again.stderr
    ext = _pbxcrm("create-user", "--login", "boris", "--name", "Boris", "--role", "operator",
                  "--extension", "101", "--password", "long enough pw", env=env)
    assert ext.returncode == 1 and "extension 101 belongs to another user" in ext.stderr
