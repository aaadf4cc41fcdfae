"""The layout's speed-ups (nav cached per app/role/locale and built once per request, Jinja gettext reading the
request's translations once) render the same HTML as the straightforward way: flask-babel's own gettext
callables, the nav built and translated on every call, `request.path` read per item in the template."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string, request, url_for
from flask_babel import force_locale, get_translations, refresh
from flask_login import current_user
from jinja2 import ChoiceLoader, DictLoader

from market.accounts.models import Role
from market.main import labels

# templates/_nav.html before the change: request.path read and compared for each item.
OLD_NAV = """{% set items = nav_items() %}
{% for item in items[:7] %}
  <a href="{{ item.url }}"{% if request.path.startswith(item.url) and item.url != '/' %} class="active"{% endif %}>{{ item.label }}</a>
{% endfor %}
{% if items|length > 7 %}
  <details class="more">
    <summary>{{ _('More') }}</summary>
    <div class="menu">
    {% for item in items[7:] %}
      <a href="{{ item.url }}"{% if request.path.startswith(item.url) and item.url != '/' %} class="active"{% endif %}>{{ item.label }}</a>
    {% endfor %}
    </div>
  </details>
{% endif %}
"""  # noqa: E501


def old_nav_items() -> list[dict]:
    """labels.nav_items before the change: every URL built and every (lazy) label translated on each call."""
    from market.areas import collect

    role = current_user.role if current_user.is_authenticated else None
    return [
        {"url": url_for(endpoint), "label": label}
        for endpoint, label, roles in labels.NAV[:1] + collect("nav") + labels.NAV[1:]
        if roles is None or (role is not None and role in roles)
    ]


def _mask(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="X"', html)


def _render_both(app, client, monkeypatch, path: str) -> tuple[str, str]:
    env = app.jinja_env
    env.cache.clear()
    new = client.get(path)
    assert new.status_code == 200, path
    with monkeypatch.context() as m:
        m.setattr(env, "loader", ChoiceLoader([DictLoader({"_nav.html": OLD_NAV}), env.loader]))
        m.setitem(env.globals, "nav_items", old_nav_items)
        m.setitem(env.globals, "layout_url", url_for)  # base.html's links built by url_for every time
        m.setitem(env.globals, "gettext", lambda s: get_translations().ugettext(s))
        m.setitem(env.globals, "ngettext", lambda s, p, n: get_translations().ungettext(s, p, n))
        # install_gettext_callables wraps the callables (newstyle): reinstall flask-babel's own the same way
        env.install_gettext_callables(
            gettext=lambda s: get_translations().ugettext(s),
            ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
            newstyle=True,
            pgettext=lambda c, s: get_translations().upgettext(c, s),
            npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
        )
        env.cache.clear()
        try:
            old = client.get(path)
        finally:
            env.cache.clear()
    from market.i18n import install_jinja_gettext

    install_jinja_gettext(app)
    assert old.status_code == 200, path
    return _mask(new.get_data(as_text=True)), _mask(old.get_data(as_text=True))


def _nav_links(html: str) -> list[tuple[str, str, str]]:
    nav = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]*)"( class="active")?>([^<]*)</a>', nav)


@pytest.mark.parametrize("role", list(Role))
def test_pages_render_as_before_for_every_role_and_language(app, client, login_as, monkeypatch, role):
    login_as(role)
    for language in ("zh_CN", "en"):
        assert client.post(f"/language/{language}", data={"next": "/"}).status_code == 302
        paths = ["/", "/workspace", "/patents?q=%E7%94%B5%E6%B1%A0"]
        if role is not Role.BIDDER:
            paths.append("/organisation/")
        for path in paths:
            new, old = _render_both(app, client, monkeypatch, path)
            assert new == old, (role, language, path)
            links = _nav_links(new)
            assert links and all(label.strip() for _, _, label in links)
            active = [url for url, flag, _ in links if flag]
            assert all(path.split("?")[0].startswith(url) for url in active)
            if path == "/workspace":
                assert active == ["/workspace"]
            if language == "en":
                assert "我的工作台" not in new and "My workspace" in new
            else:
                assert "My workspace" not in new and "我的工作台" in new


def test_anonymous_pages_render_as_before(app, client, monkeypatch):
    for language in ("zh_CN", "en"):
        client.post(f"/language/{language}", data={"next": "/"})
        for path in ("/", "/login", "/stats"):
            new, old = _render_both(app, client, monkeypatch, path)
            assert new == old, (language, path)


def test_nav_is_built_once_per_request_and_follows_the_path(app, client, login_as):
    login_as(Role.BANK)
    with app.test_request_context("/patents"):
        from flask_login import login_user

        from market.accounts.models import User
        from market.db import db

        user = db.session.query(User).filter_by(role=Role.BANK).order_by(User.id.desc()).first()
        login_user(user)
        first = labels.nav_items()
        assert first is labels.nav_items()  # once per request
        assert [i["url"] for i in first if i["active"]] == ["/patents"]
        assert first == labels.nav_items_uncached()
    with app.test_request_context("/workspace"):
        login_user(user)
        items = labels.nav_items()  # a new request: not the previous request's list
        assert [i["url"] for i in items if i["active"]] == ["/workspace"]
        assert request.path == "/workspace"


def test_jinja_gettext_keeps_formatting_escaping_and_locale_switches(app):
    with app.test_request_context("/"):
        template = "{{ _('Hello %(name)s', name=who) }}|{{ ngettext('%(num)d day', '%(num)d days', n) }}"
        assert render_template_string(template, who="<b>", n=2) == "Hello &lt;b&gt;|2 days"
        with force_locale("en"):
            assert render_template_string("{{ _('My workspace') }}") == "My workspace"
        with force_locale("zh_CN"):
            assert render_template_string("{{ _('My workspace') }}") == "我的工作台"
        with force_locale("en"):
            assert render_template_string("{{ _('My workspace') }}") == "My workspace"
        refresh()
        assert render_template_string("{{ _('My workspace') }}") == get_translations().ugettext("My workspace")


def test_layout_urls_follow_the_script_root(app):
    for root in ("", "/market", ""):
        with app.test_request_context("/", base_url=f"http://market.test{root}/"):
            for endpoint, values in (("static", {"filename": "css/market.css"}), ("auth.logout", {}),
                                     ("set_language", {"code": "en"}), ("set_language", {"code": "zh_CN"})):
                assert labels.layout_url(endpoint, **values) == url_for(endpoint, **values)
                assert labels.layout_url(endpoint, **values).startswith(root + "/")
