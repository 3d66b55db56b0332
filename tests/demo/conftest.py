"""A fresh reference service per test, under the default profile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._service import Service, start


@pytest.fixture(name="service")
def _service() -> Iterator[Service]:
    """The service under ``rfc9457``, on an in-memory database."""
    service = start()
    yield service
    service.store.close()
