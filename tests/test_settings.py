import pytest

from crm.settings import Settings, SettingsError


def test_database_url_is_required_with_a_clear_message():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({})


def test_values_come_from_the_environment():
    s = Settings.from_env({"DATABASE_URL": "postgresql://x/y", "PBXCRM_DEFAULT_REGION": "us",
                           "PBXCRM_LOOKUP_BUDGET_MS": "150", "PBXCRM_ARI_URL": "http://h:1/"})
    assert (s.default_region, s.lookup_budget_ms, s.ari_url) == ("US", 150, "http://h:1")


@pytest.mark.parametrize("env", [{"PBXCRM_DEFAULT_REGION": "Russia"}, {"PBXCRM_WEB_PORT": "eighty"}])
def test_malformed_values_are_refused(env):
    with pytest.raises(SettingsError):
        Settings.from_env({"DATABASE_URL": "postgresql://x/y", **env})
