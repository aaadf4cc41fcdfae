"""Account and organisation rules: sign-up, log-in, passwords, verification by exchange staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from market.accounts.models import ROLE_ORG_KIND, ApiToken, LoginThrottle, Organisation, OrgKind, OrgStatus, Role, User
from market.audit.service import record, snapshot
from market.db import get_or_fail, insert_unique
from market.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound  # noqa: F401  (re-exported)
from market.reference.models import District, Industry
from market.security import check_no_password, check_password, hash_password, password_problem, require
from market.states import StateMachine

ORG_FIELDS = ["kind", "name", "credit_code", "district_code", "industry_code", "status", "status_reason"]
ORG_STATES = StateMachine(
    "organisation",
    {
        OrgStatus.PENDING: {OrgStatus.VERIFIED, OrgStatus.REJECTED},
        OrgStatus.REJECTED: {OrgStatus.PENDING, OrgStatus.VERIFIED},
        OrgStatus.VERIFIED: {OrgStatus.SUSPENDED},
        OrgStatus.SUSPENDED: {OrgStatus.VERIFIED},
    },
    fields=ORG_FIELDS,
)
USER_FIELDS = ["email", "name", "role", "organisation_id", "locale", "active"]


@dataclass
class OrgDetails:
    name: str
    credit_code: str | None = None
    district_code: str | None = None
    industry_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    address: str | None = None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_credit_code(code: str | None) -> str | None:
    """Validate a unified social credit code (统一社会信用代码) including its check digit."""
    if not code or not code.strip():
        return None
    try:
        return uscc.validate(code.strip().upper())
    except ValidationError as exc:
        raise InvalidInput("The unified social credit code is not valid (check its 18 characters).") from exc


def _check_org(session: Session, details: OrgDetails, exclude_id: int | None = None) -> str | None:
    code = normalise_credit_code(details.credit_code)
    name = details.name.strip()
    if not name:
        raise InvalidInput("The organisation name is required.")
    q = select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    if exclude_id:
        q = q.where(Organisation.id != exclude_id)
    if session.scalar(q):
        raise Conflict("An organisation with this name is already registered.")
    if code:
        q = select(Organisation.id).where(Organisation.credit_code == code)
        if exclude_id:
            q = q.where(Organisation.id != exclude_id)
        if session.scalar(q):
            raise Conflict("An organisation with this credit code is already registered.")
    if details.district_code and session.get(District, details.district_code) is None:
        raise InvalidInput("Unknown district.")
    if details.industry_code and session.get(Industry, details.industry_code) is None:
        raise InvalidInput("Unknown industry code.")
    return code


def register(
    session: Session,
    *,
    email: str,
    password: str,
    name: str,
    role: Role,
    org: OrgDetails | None,
    now: datetime,
    locale: str = "zh_CN",
) -> User | None:
    """Sign up a user with a new organisation awaiting verification (a bidder may sign up as a person).

    Sign-up never tells whether an address is registered: after the same checks, an address that already has an
    account gets nothing new (the attempt is audited on that account, and the password is hashed all the same so
    the answer takes as long) and None is returned; the caller answers both cases alike."""
    if role is Role.STAFF:
        raise Forbidden("Exchange staff accounts are created by the exchange.")
    email = normalise_email(email)
    problem = password_problem(password, email, name)
    if problem:
        raise InvalidInput(problem)
    if org is None and role is not Role.BIDDER:
        raise InvalidInput("An organisation is required for this role.")
    code = _check_org(session, org) if org is not None else None
    if org is not None and role is not Role.BIDDER and not code:
        raise InvalidInput("The unified social credit code is required for organisations.")
    existing = session.scalar(select(User).where(User.email == email))
    password_hash = hash_password(password)  # for a registered address too: the answer takes as long
    if existing is not None:
        record(session, actor=None, action="user.signup_for_existing_email", entity_type="user",
               entity_id=existing.id, now=now)
        return None
    try:
        with session.begin_nested():  # a concurrent sign-up may pass the checks above at the same moment
            organisation = None
            if org is not None:
                organisation = Organisation(
                    kind=ROLE_ORG_KIND[role],
                    name=org.name.strip(),
                    credit_code=code,
                    district_code=org.district_code or None,
                    industry_code=org.industry_code or None,
                    contact_name=org.contact_name or name,
                    contact_phone=org.contact_phone,
                    contact_email=org.contact_email or email,
                    address=org.address,
                    status=OrgStatus.PENDING,
                    created_at=now,
                )
                session.add(organisation)
                session.flush()
                record(session, actor=None, action="organisation.registered", entity_type="organisation",
                       entity_id=organisation.id, now=now, after=snapshot(organisation, ORG_FIELDS))
            user = User(
                email=email,
                password_hash=password_hash,
                name=name.strip(),
                role=role,
                organisation=organisation,
                locale=locale,
                active=True,
                session_version=1,
                created_at=now,
            )
            session.add(user)
            session.flush()
            record(session, actor=user, action="user.registered", entity_type="user", entity_id=user.id, now=now,
                   after=snapshot(user, USER_FIELDS))
    except IntegrityError:
        # The unique indexes decided: answer as the checks above would have (never a 500).
        existing = session.scalar(select(User).where(User.email == email))
        if existing is not None:
            record(session, actor=None, action="user.signup_for_existing_email", entity_type="user",
                   entity_id=existing.id, now=now)
            return None
        if org is not None:
            _check_org(session, org)
        raise
    return user


def create_user(
    session: Session, *, email: str, password: str, role: Role, org_name: str | None, now: datetime,
    name: str | None = None, credit_code: str | None = None, check_strength: bool = True,
) -> User:
    """Administrative creation (CLI, scripts): the organisation is created verified when it does not exist.

    The unique indexes decide between two creations at once (the checks before them give the message): a second
    account for one address is refused (409), and an organisation another creation has just made is used."""
    email = normalise_email(email)
    taken = Conflict("This e-mail address is already registered.")
    if session.scalar(select(User.id).where(User.email == email)):
        raise taken
    if check_strength:
        problem = password_problem(password, email)
        if problem:
            raise InvalidInput(problem)
    organisation = None
    if org_name:
        name_of_org = org_name.strip()
        organisation = session.scalar(select(Organisation).where(Organisation.name == name_of_org))
        if organisation is None:
            try:
                organisation = insert_unique(session, Organisation(
                    kind=ROLE_ORG_KIND[role], name=name_of_org, credit_code=normalise_credit_code(credit_code),
                    status=OrgStatus.VERIFIED, created_at=now, verified_at=now, contact_email=email,
                ), Conflict("An organisation with this name is already registered."))
                record(session, actor=None, action="organisation.created", entity_type="organisation",
                       entity_id=organisation.id, now=now, after=snapshot(organisation, ORG_FIELDS))
            except Conflict:  # made meanwhile by another creation (same name), or its credit code is taken
                organisation = session.scalar(select(Organisation).where(Organisation.name == name_of_org))
                if organisation is None:
                    raise Conflict("An organisation with this credit code is already registered.") from None
        if organisation.kind is not ROLE_ORG_KIND[role] and role is not Role.BIDDER:
            raise Conflict("The organisation exists with another kind.")
    elif role is not Role.BIDDER:
        raise InvalidInput("An organisation is required for this role.")
    user = insert_unique(session, User(
        email=email, password_hash=hash_password(password), name=name or email.split("@")[0], role=role,
        organisation_id=organisation.id if organisation else None, locale="zh_CN", active=True, session_version=1,
        created_at=now), taken)
    record(session, actor=None, action="user.created", entity_type="user", entity_id=user.id, now=now,
           after=snapshot(user, USER_FIELDS))
    return user


# Per-address back-off (on top of the per-client rate limit): after LOCK_AFTER consecutive failures an e-mail
# address is locked for LOCK_FIRST, doubled at each further failure, at most LOCK_LONGEST.
LOCK_AFTER = 5
LOCK_FIRST = timedelta(minutes=1)
LOCK_LONGEST = timedelta(hours=1)


class WrongCredentials(InvalidInput):
    """The e-mail or the password is wrong (the caller records the failure with `note_login_failure`)."""


class LoginLocked(DomainError, status=429, code="too_many_attempts"):
    """Too many failed log-ins from this address: it waits before the next try."""


def authenticate(session: Session, email: str, password: str, now: datetime) -> User:
    """The user for these credentials; the same message, and the same work, whether the e-mail or the password was
    wrong. A locked address is refused before any password is checked."""
    email = normalise_email(email)
    throttle = session.get(LoginThrottle, email)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        minutes = -(-int((throttle.locked_until - now).total_seconds()) // 60)
        raise LoginLocked("Too many failed log-ins for this e-mail address. Try again in %(minutes)s minutes.",
                          minutes=max(minutes, 1))
    user = session.scalar(select(User).where(User.email == email))
    # An unknown e-mail costs the same argon2 verification as a known one: the time does not tell them apart.
    if not (check_password(user.password_hash, password) if user is not None else check_no_password(password)):
        raise WrongCredentials("Wrong e-mail or password.")
    if not user.active:
        raise Forbidden("This account is disabled.")
    if throttle is not None:
        session.delete(throttle)
    user.last_login_at = now
    return user


def note_login_failure(session: Session, email: str, now: datetime) -> LoginThrottle:
    """Count a failed log-in for the address (one atomic upsert, so parallel attempts are all counted) and lock it
    once LOCK_AFTER failures follow each other; each lock is audited."""
    from sqlalchemy.dialects import postgresql, sqlite

    email = normalise_email(email)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(LoginThrottle)
        .values(email=email, failures=1, last_failure_at=now)
        .on_conflict_do_update(index_elements=[LoginThrottle.email],
                               set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now})
    )
    throttle = session.get(LoginThrottle, email, populate_existing=True)
    if throttle.failures >= LOCK_AFTER:
        throttle.locked_until = now + min(LOCK_FIRST * 2 ** min(throttle.failures - LOCK_AFTER, 8), LOCK_LONGEST)
        user_id = session.scalar(select(User.id).where(User.email == email))
        record(session, actor=None, action="login.locked", entity_type="user" if user_id else "login_email",
               entity_id=user_id or email[:60], now=now, after={"failures": throttle.failures,
                                                               "locked_until": throttle.locked_until.isoformat()},
               note=email if user_id is None else None)
    session.flush()
    return throttle


def change_password(session: Session, user: User, old: str, new: str, now: datetime) -> None:
    """A new password ends every other session of the account and revokes all of its API tokens (whoever knew the
    old password may have made some)."""
    if not check_password(user.password_hash, old):
        raise InvalidInput("The current password is wrong.")
    problem = password_problem(new, user.email, user.name)
    if problem:
        raise InvalidInput(problem)
    user.password_hash = hash_password(new)
    user.session_version += 1
    revoked = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    record(session, actor=user, action="user.password_changed", entity_type="user", entity_id=user.id, now=now,
           note=f"tokens revoked: {revoked}")


def log_out(session: Session, user: User, now: datetime) -> None:
    """End the session on the server: the cookie is signed, not stored, so the old one would still open pages; a
    new session version makes every cookie issued before it worthless (this logs out the account's other browsers
    too, as "log out everywhere" does)."""
    user.session_version += 1
    record(session, actor=user, action="user.logged_out", entity_type="user", entity_id=user.id, now=now)


def set_locale(session: Session, user: User, locale: str, now: datetime) -> None:
    """The user's UI language, remembered for every later visit (audited like any change of the account)."""
    if user.locale == locale:
        return
    before = snapshot(user, ["locale"])
    user.locale = locale
    record(session, actor=user, action="user.locale_changed", entity_type="user", entity_id=user.id, now=now,
           before=before, after=snapshot(user, ["locale"]))


def decide_organisation(
    session: Session, staff: User, org_id: int, *, approve: bool, reason: str | None, now: datetime
) -> Organisation:
    """Exchange staff verify or reject an organisation; a rejection needs a reason the applicant will see."""
    require(staff, Role.STAFF, verified=False)
    org = get_or_fail(session, Organisation, org_id, "No such organisation.")
    target = OrgStatus.VERIFIED if approve else OrgStatus.REJECTED
    ORG_STATES.check(org.status, target)
    if not approve and not (reason and reason.strip()):
        raise InvalidInput("Give the reason for the rejection.")
    ORG_STATES.move(session, staff, org, target, now, note=reason,
                    also={"status_reason": reason.strip() if reason else None,
                          **({"verified_at": now} if approve else {})})
    return org


def update_organisation(session: Session, user: User, details: OrgDetails, now: datetime) -> Organisation:
    """A member edits the profile; a rejected organisation goes back to the verification queue."""
    org = user.organisation
    if org is None:
        raise NotFound("You do not belong to an organisation.")
    code = _check_org(session, details, exclude_id=org.id)
    before = snapshot(org, ORG_FIELDS)
    if org.is_verified and (code != org.credit_code or details.name.strip() != org.name):
        raise Forbidden("The name and credit code of a verified organisation can only be changed by the exchange.")
    org.name = details.name.strip()
    org.credit_code = code
    org.district_code = details.district_code or None
    org.industry_code = details.industry_code or None
    org.contact_name = details.contact_name
    org.contact_phone = details.contact_phone
    org.contact_email = details.contact_email
    org.address = details.address
    if org.status is OrgStatus.REJECTED:
        ORG_STATES.check(org.status, OrgStatus.PENDING)
        org.status = OrgStatus.PENDING
    record(session, actor=user, action="organisation.updated", entity_type="organisation", entity_id=org.id,
           now=now, before=before, after=snapshot(org, ORG_FIELDS))
    return org


__all__ = [
    "OrgDetails", "register", "create_user", "authenticate", "note_login_failure", "change_password", "log_out",
    "decide_organisation", "update_organisation", "set_locale", "normalise_credit_code", "OrgKind",
]


def people_named(session: Session, user_ids) -> dict[int, str]:
    """How pages name people: "real name · organisation" (a person bidder: the name alone), by user id, in one
    query. Ids of unknown users are left out (the caller falls back to what it stored)."""
    ids = {int(i) for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name, Organisation.name)
                           .outerjoin(Organisation, Organisation.id == User.organisation_id).where(User.id.in_(ids)))
    return {uid: f"{name} · {org}" if org else name for uid, name, org in rows}
