"""Every HTML page of the demo, for every role and anonymous, in Chinese and in English: no text of the other language,
no raw code.

A private app gets the demo data (`market demo --no-serve`); every GET route of the web UI is requested with its
parameters filled from the demo's rows (bulletins, consultations, listings, loans, patents, needs, offers, products,
saved searches, organisations, valuations). Pages that answer 200 with HTML are checked with tests/language.py.
Exempt are the strings stored in the database's text columns (names, titles, descriptions people typed, the
one-language reference data: districts, industries, IPC titles, policy names), never enum values, audit codes or
columns kept in both languages (IndustryGroup.name_zh / name_en). Identifiers shown as <code> (audit codes in the
staff log, API paths) are exempt too (tests/language.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Enum, String, Text, select

from market.accounts.models import Organisation, User
from market.audit.models import AuditEntry
from market.db import Base, db
from market.demo import DEMO_PASSWORD
from market.exchange.models import Listing
from market.ip.models import IpAsset, SavedSearch
from market.loans.models import Loan, Pledge
from market.needs.models import Bulletin, LoanProduct, Need, NeedAsset, Offer
from market.stats.figures import mask_name
from market.valuations.models import Consultation, Valuation
from tests.conftest import DATABASES, PG_URL
from tests.language import leaks, visible_text

SKIPPED_TABLES = {AuditEntry.__tablename__}  # codes and snapshots, never shown as data ...
PER_ARGUMENT = 2  # rows tried per route parameter
HEALTH_PROBES = {"/healthz", "/readyz"}


def data_strings(session) -> list[str]:
    """Every value of every plain text column (not enums, not JSON) of every table but the audit log."""
    found: set[str] = set()
    for table in Base.metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        names = set(table.columns.keys())
        # A column with a counterpart in the other language (name_zh / name_en) is two-language data: the page
        # must pick the right one, so neither is exempt.
        bilingual = {n for n in names if n[-3:] in ("_zh", "_en") and {n[:-3] + "_zh", n[:-3] + "_en"} <= names}
        columns = [c for c in table.columns if c.name not in bilingual
                   and isinstance(c.type, (String, Text)) and not isinstance(c.type, (Enum, JSON))]
        if not columns:
            continue
        for row in session.execute(select(*columns)):
            found.update(str(v) for v in row if v)
        # Where a row lacks one language, the other is shown in its place (IPC classes have English titles only).
        for n in sorted(bilingual):
            other = n[:-3] + ("_zh" if n.endswith("_en") else "_en")
            stmt = select(table.c[n]).where((table.c[other].is_(None)) | (table.c[other] == ""))
            found.update(v for v in session.scalars(stmt) if v)
    # ... but the notes of audit entries are recorded text (a reason someone typed, a service's remark).
    found.update(v for v in session.scalars(select(AuditEntry.note)) if v)
    # The open compensation page masks enterprise names (重庆**科技有限公司): still the organisation's name.
    found.update(mask_name(name) for name in session.scalars(select(Organisation.name)))
    return sorted(found)


def argument_values(session) -> dict[str, list[int]]:
    def ids(stmt):
        return list(dict.fromkeys(session.scalars(stmt)))[:PER_ARGUMENT]

    assets = [*session.scalars(select(Pledge.asset_id)), *session.scalars(select(NeedAsset.asset_id)),
              *session.scalars(select(Valuation.asset_id)),
              *session.scalars(select(IpAsset.id).where(IpAsset.owner_org_id.is_not(None)).order_by(IpAsset.id))]
    return {
        "number": ids(select(Bulletin.number).order_by(Bulletin.number)),
        "consultation_id": ids(select(Consultation.id).order_by(Consultation.id)),
        "listing_id": ids(select(Listing.id).order_by(Listing.id)),
        "loan_id": ids(select(Loan.id).order_by(Loan.id)),
        "asset_id": list(dict.fromkeys(a for a in assets if a))[:PER_ARGUMENT + 1],
        "need_id": ids(select(Need.id).order_by(Need.id)),
        "offer_id": ids(select(Offer.id).order_by(Offer.id)),
        "product_id": ids(select(LoanProduct.id).order_by(LoanProduct.id)),
        "saved_id": ids(select(SavedSearch.id).order_by(SavedSearch.id)),
        "org_id": ids(select(Organisation.id).order_by(Organisation.id)),
        "valuation_id": ids(select(Valuation.id).order_by(Valuation.id)),
    }


def page_urls(app, values: dict[str, list[int]]) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        last = rule.rule.rsplit("/", 1)[-1]
        if "GET" not in rule.methods or rule.rule.startswith(("/api", "/static")) or "." in last:
            continue  # the JSON API, files, and CSV/Excel/Atom exports are not pages
        if rule.rule in HEALTH_PROBES:
            continue  # JSON for monitors; /readyz answers 503 while this app's scheduler is not running
        names = sorted(rule.arguments)
        if not names:
            urls.append(rule.rule)
            continue
        if any(n not in values for n in names) or len(names) > 1:
            continue
        with app.test_request_context():
            from flask import url_for

            urls += [url_for(rule.endpoint, **{names[0]: v}) for v in values[names[0]]]
    return sorted(set(urls))


@pytest.fixture(params=DATABASES, scope="module")
def demo_app(request, tmp_path_factory):
    from tests.conftest import build_app, reset_postgresql

    folder = tmp_path_factory.mktemp(f"sweep-{request.param}")
    if request.param == "postgresql":
        from tests.conftest import PG_URL_2

        url = PG_URL_2 or pytest.fail("MARKET_TEST_POSTGRESQL_URL_2 is needed for a private PostgreSQL app")
        reset_postgresql(url)
    else:
        url = f"sqlite:///{folder / 'sweep.sqlite3'}"
    assert url != PG_URL
    app = build_app(url, SEARCH_EMBEDDED_PATH=str(folder / "search.sqlite3"))
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_page_speaks_one_language(demo_app):
    app = demo_app
    with app.app_context():
        data = data_strings(db.session)
        urls = page_urls(app, argument_values(db.session))
        users, roles = [None], set()
        for user in db.session.scalars(select(User).order_by(User.id)):  # one user per role
            if user.role not in roles:
                users.append(user)
                roles.add(user.role)
    assert len(urls) > 50 and len(users) == 8
    problems, checked = [], 0
    for user in users:
        for lang in ("zh_CN", "en"):
            client = app.test_client()
            if user is not None:
                response = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD})
                assert response.status_code == 302
            client.post(f"/language/{lang}")
            who = user.email if user else "anonymous"
            for url in urls:
                response = client.get(url)
                assert response.status_code < 500, f"{who} {lang} {url}: {response.status_code}"
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                html = response.get_data(as_text=True)
                assert f'lang="{"zh-CN" if lang == "zh_CN" else "en"}"' in html, f"{who} {url} not in {lang}"
                checked += 1
                left = leaks(visible_text(html), lang, data)
                if left:
                    problems.append(f"{lang} {who} {url}: {sorted(left)[:12]}")
    assert checked > 300
    assert not problems, f"{len(problems)} pages leak the other language:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_search_boxs_examples_find_demo_patents(demo_app, language):
    """What a new user types first is the box's own example: each one finds patents in the demo (before, its
    group-level IPC example `H01M 10/052` found none, the demo's real patents carrying subclasses only). Here,
    beside the sweep, so the demo is loaded once."""
    from market.accounts.models import Role
    from tests.ip.test_search_as_typed import _examples

    app = demo_app
    with app.app_context():
        bank = db.session.scalars(select(User).where(User.role == Role.BANK).order_by(User.id)).first()
    client = app.test_client()
    assert client.post("/login", data={"email": bank.email, "password": DEMO_PASSWORD}).status_code == 302
    client.post(f"/language/{language}")
    examples = _examples(client.get("/patents").get_data(as_text=True))
    assert len(examples) == 4
    for example in examples:
        found = client.get("/patents", query_string={"q": example}).get_data(as_text=True)
        assert 'data-test="hit"' in found, example
