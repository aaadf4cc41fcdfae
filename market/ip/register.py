"""The pledge register: the one place an asset's pledge state changes, audited on the asset.

    free ──pledge──▶ pledged ──release──▶ free
      │                 │
      └──(voluntary)────┴──to_disposal──▶ in disposal ──dispose (sold, settled)──▶ free (maybe a new owner)
                        ▲                     │
                        └──withdraw (lot cancelled; free when no loan holds it)

Loans pledge and release, the exchange puts an asset up for disposal and passes the right after a sale; each calls
one function here, so the state, its stamp, its audit entry and (through the outbox's session hook) the search index
change together. The pledge rows themselves (which loan, registration number) stay with the loan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from market.areas import collect
from market.db import lock_rows
from market.errors import Conflict, InvalidTransition
from market.ip.models import IpAsset, PledgeState
from market.states import StateMachine

FIELDS = ["owner_org_id", "pledge_state"]
PLEDGES = StateMachine("pledge state", {
    PledgeState.FREE: {PledgeState.PLEDGED, PledgeState.IN_DISPOSAL},
    PledgeState.PLEDGED: {PledgeState.FREE, PledgeState.IN_DISPOSAL},
    PledgeState.IN_DISPOSAL: {PledgeState.FREE, PledgeState.PLEDGED},
}, entity_type="ip_asset", fields=FIELDS, attribute="pledge_state", action_prefix="ip_asset")


def pledge(session: Session, actor, assets: Iterable[IpAsset], now: datetime, note: str | None = None) -> None:
    """Free assets become pledged. Each asset's row lock (taken in id order, so two signings never deadlock) comes
    before the check: of two signings racing for one asset, the second sees it pledged and is refused."""
    for asset in lock_rows(session, IpAsset, [a.id for a in assets]):
        try:
            PLEDGES.move(session, actor, asset, PledgeState.PLEDGED, now, action="ip_asset.pledged", note=note)
        except InvalidTransition:
            raise Conflict("Asset %(id)s is already pledged or in disposal.", id=asset.id) from None


def release(session: Session, actor, asset: IpAsset, now: datetime, note: str | None = None) -> None:
    """A pledged asset whose pledge ended (the loan was repaid) is free again; any other state is left alone."""
    if asset.pledge_state is PledgeState.PLEDGED:
        PLEDGES.move(session, actor, asset, PledgeState.FREE, now, action="ip_asset.released", note=note)


def to_disposal(session: Session, actor, asset: IpAsset, now: datetime, note: str | None = None) -> None:
    """The asset is being sold (a defaulted loan's pledge, or its owner's voluntary listing). Already in disposal
    (the loan's disposal started before its lots were announced): nothing changes."""
    if asset.pledge_state is not PledgeState.IN_DISPOSAL:
        PLEDGES.move(session, actor, asset, PledgeState.IN_DISPOSAL, now, action="ip_asset.in_disposal", note=note)


def dispose(session: Session, actor, asset: IpAsset, now: datetime, *, owner_org_id: int | None,
            transfer: bool, note: str | None = None) -> None:
    """The sale was settled: the asset is free of its pledge and, when the right itself was sold (`transfer`),
    belongs to `owner_org_id` (None for a person buyer); a licence leaves the owner as it was."""
    also = {"owner_org_id": owner_org_id} if transfer else {}
    PLEDGES.move(session, actor, asset, PledgeState.FREE, now, action="ip_asset.transferred", note=note, also=also)


def withdraw(session: Session, actor, asset: IpAsset, now: datetime, note: str | None = None) -> None:
    """The asset's sale was called off (its lot cancelled): back to pledged while a loan still holds an active pledge
    on it (the `asset_lenders` contributions: loans), else free (an owner's voluntary listing). An asset that is not
    in disposal is left alone."""
    if asset.pledge_state is not PledgeState.IN_DISPOSAL:
        return
    held = any(lenders(session, asset.id) for lenders in collect("asset_lenders"))
    PLEDGES.move(session, actor, asset, PledgeState.PLEDGED if held else PledgeState.FREE, now,
                 action="ip_asset.withdrawn_from_disposal", note=note)
