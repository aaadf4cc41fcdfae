"""Import every table: the foundation's, then each area's (via its area.py), so the metadata is complete."""

from market.accounts.models import ApiToken, Organisation, User  # noqa: F401
from market.audit.models import AuditEntry  # noqa: F401
from market.clock import ClockRun  # noqa: F401
from market.outbox.models import DatabaseIdentity, SearchOutbox  # noqa: F401
from market.reference.models import District, Industry, IndustryGroup, IndustryGroupMember, IpcTitle, Town  # noqa: F401


def load_area_models() -> None:
    from market.areas import all_areas

    all_areas()


load_area_models()
