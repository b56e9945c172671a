import pytest

from crm.settings import Settings, SettingsError


def test_database_url_is_required_with_a_clear_message():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({})


def test_values_come_from_the_environment():
    s = Settings.from_env({"DATABASE_URL": "postgresql://x/y", "PBXCRM_DEFAULT_REGION": "us",
                           "PBXCRM_LOOKUP_BUDGET_MS": "150", "PBXCRM_ARI_URL": "http://h:1/"})
    assert (s.default_region, s.lookup_budget_ms, s.ari_url) == ("US", 150, "http://h:1")


@pytest.mark.parametrize("env", [{"PBXCRM_DEFAULT_REGION": "Russia"}, {"PBXCRM_WEB_PORT": "eighty"},
                                 {"PBXCRM_NODE": "node a"}, {"PBXCRM_NODE": "-a"}, {"PBXCRM_NODE": "a" * 33}])
def test_malformed_values_are_refused(env):
    with pytest.raises(SettingsError):
        Settings.from_env({"DATABASE_URL": "postgresql://x/y", **env})


def test_greetings_are_written_in_one_directory_and_played_by_asterisks_name_for_it():
    base = {"DATABASE_URL": "postgresql://x/y"}
    local = Settings.from_env({**base, "PBXCRM_GREETINGS_DIR": "var/g"})
    assert local.greetings_sound_dir.startswith("/") and local.greetings_sound_dir.endswith("/var/g"), \
        "Asterisk on this machine plays them by their full path"
    chrooted = Settings.from_env({**base, "PBXCRM_GREETINGS_DIR": "/srv/root/var/lib/asterisk/sounds/pbxcrm",
                                  "PBXCRM_GREETINGS_ASTERISK_DIR": "/var/lib/asterisk/sounds/pbxcrm/"})
    assert str(chrooted.greetings_dir) == "/srv/root/var/lib/asterisk/sounds/pbxcrm"
    assert chrooted.greetings_sound_dir == "/var/lib/asterisk/sounds/pbxcrm"


def test_a_node_is_named_in_lower_case_and_none_means_one_pbx():
    base = {"DATABASE_URL": "postgresql://x/y"}
    assert Settings.from_env(base).node == ""
    assert Settings.from_env({**base, "PBXCRM_NODE": " Node-B "}).node == "node-b"
