"""The Elasticsearch client the backend uses (REST compatibility with an older server major) and the one place
connection failures become :class:`SearchUnavailable`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import elastic_transport
from elasticsearch import ApiError, Elasticsearch, __versionstr__

from .base import SearchUnavailable

CLIENT_MAJOR = int(__versionstr__.split(".")[0])
_MIMETYPE = re.compile(r"application/(json|x-ndjson)")


class CompatElasticsearch(Elasticsearch):
    """A client that asks an older server major for its own API version (REST compatibility headers).

    The 9.x client always sends ``compatible-with=9``, which an 8.x server refuses; the Maven Central
    integ-test distribution is 8.x only, so the server's major is detected once and used in the headers.
    """

    compat_major: ClassVar[int] = CLIENT_MAJOR

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any | None = None,
        endpoint_id: str | None = None,
        path_parts: Mapping[str, Any] | None = None,
    ) -> Any:
        if headers:
            sub = rf"application/vnd.elasticsearch+\1; compatible-with={self.compat_major}"
            headers = {
                k: _MIMETYPE.sub(sub, v) if k.lower() in ("accept", "content-type") else v for k, v in headers.items()
            }
        return super().perform_request(
            method, path, params=params, headers=headers, body=body, endpoint_id=endpoint_id, path_parts=path_parts
        )


@contextmanager
def unavailable() -> Iterator[None]:
    """Turn connection failures, timeouts and 429/503 answers into :class:`SearchUnavailable`."""
    try:
        yield
    except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as exc:
        raise SearchUnavailable(f"Elasticsearch unreachable: {exc}") from exc
    except ApiError as exc:
        if exc.meta.status in (429, 502, 503, 504):
            raise SearchUnavailable(f"Elasticsearch unavailable: {exc}") from exc
        raise
