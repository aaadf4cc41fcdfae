"""The financing-needs database (融资需求动态数据库): needs, moderation, classification, bank products,
matching and docking, escalation and the periodic bulletin."""

from market.needs import models  # noqa: F401

ORDER = 40
