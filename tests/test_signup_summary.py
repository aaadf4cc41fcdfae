"""Sign-up names what is wrong in one summary at the top (each entry links to its field), and its button sits under
both groups of fields."""

from __future__ import annotations

import re


def test_signup_errors_are_summarised_with_links(client):
    html = client.post("/signup", data={"role": "enterprise", "name": "", "email": "not-an-email",
                                        "password": "short", "confirm": "other"}).get_data(as_text=True)
    summary = re.search(r'<div class="flash error error-summary".*?</div>', html, re.S)
    assert summary, html[:2000]
    links = re.findall(r'href="#([a-z_]+)"', summary.group(0))
    assert {"name", "email"} <= set(links)
    assert "请更正以下" in summary.group(0)
    assert all(f'id="{field}"' in html for field in links)
    assert html.index("error-summary") < html.index('name="name"') < html.index('class="form-actions"')
