"""Import every area's models so the metadata (and Alembic) sees all tables."""

from market.accounts.models import ApiToken, Organisation, User  # noqa: F401
from market.audit.models import AuditEntry  # noqa: F401
from market.reference.models import District, Industry, IndustryGroup, IndustryGroupMember, IpcTitle, Town  # noqa: F401
