"""The templates' options() (web/templating.py, issue 25) writes what the Jinja loop it replaced wrote."""

from __future__ import annotations

from web.templating import templates

LOOP = ('{% for u in users %}<option value="{{ u.id }}" {% if u.id in chosen %}selected{% endif %}>'
        '{{ u.full_name }}</option>{% endfor %}')


def test_options_write_the_same_html_as_the_loop():
    users = [{"id": 1, "full_name": "Olga <Orlova>"}, {"id": 2, "full_name": "Pyotr & Co"}, {"id": 30, "full_name": "x"}]
    for chosen in ([], [2], [1, 30], [None], [0]):
        loop = templates.env.from_string(LOOP).render(users=users, chosen=chosen)
        assert templates.env.from_string("{{ options(users, chosen) }}").render(users=users, chosen=chosen) == loop
    assert 'value="2" selected>Pyotr &amp; Co<' in templates.env.from_string("{{ options(users, [2]) }}").render(
        users=users)
