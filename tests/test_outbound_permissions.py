"""crm/outbound/permissions: who runs, sees and works a dial campaign (pure)."""

from crm.outbound.permissions import manages_campaigns, sees_campaign, sees_campaign_list, works_campaign


def _user(role, uid=1):
    return {"id": uid, "role": role}


def test_supervisors_and_admins_manage_and_see_every_campaign():
    for role in ("supervisor", "admin"):
        assert manages_campaigns(_user(role)) and sees_campaign(_user(role), [])
    for role in ("operator", "manager", "customer"):
        assert not manages_campaigns(_user(role))


def test_agents_see_and_work_only_their_campaigns():
    assert sees_campaign(_user("operator", 7), [3, 7]) and works_campaign(_user("operator", 7), [7])
    assert not sees_campaign(_user("operator", 7), [3]) and not works_campaign(_user("manager", 7), [3])
    assert not works_campaign(_user("admin", 1), [3])  # managing is not taking its calls


def test_customers_never_see_campaigns_even_when_named():
    assert not sees_campaign(_user("customer", 7), [7]) and not works_campaign(_user("customer", 7), [7])
    assert not sees_campaign_list(_user("customer")) and sees_campaign_list(_user("operator"))
