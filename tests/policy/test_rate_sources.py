"""The rates page names the seed's sources in the reader's language; a source staff typed is shown as typed."""

from __future__ import annotations

import pytest

from market.accounts.models import Role


@pytest.mark.parametrize(("language", "shown", "hidden"), [
    ("zh_CN", "中国人民银行一年期贷款基准利率", "PBoC benchmark lending rate"),
    ("en", "PBoC benchmark lending rate, 1 year", "中国人民银行"),
])
def test_seeded_rate_sources_read_in_the_readers_language(client, login_as, language, shown, hidden):
    login_as(Role.STAFF, locale=language)
    html = client.get("/loans/rates").get_data(as_text=True)
    assert shown in html and hidden not in html


def test_a_typed_source_is_shown_as_typed(client, login_as):
    login_as(Role.STAFF)
    saved = client.post("/loans/rates", data={"kind": "lpr_1y", "effective_on": "2030-01-20", "rate": "2.9",
                                              "source": "中国货币网公告"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:400]
    assert "中国货币网公告" in client.get("/loans/rates").get_data(as_text=True)
