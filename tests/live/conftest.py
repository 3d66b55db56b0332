"""The reference service, run for real: one `errorbook demo` process per profile module.

Each test module names its profile in a module constant ``PROFILE`` (and may add command
line arguments in ``DEMO_ARGS``); the module-scoped ``demo`` fixture starts the real command
line in a subprocess on a free port, waits for its banner, and stops it (SIGTERM, then
kill) after the module's last test, failing if the service logged a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._demo import Demo, start_demo


@pytest.fixture(scope="module", name="demo")
def _demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The reference service under the module's ``PROFILE``, with keys KEY_A and KEY_B."""
    profile = getattr(request.module, "PROFILE", None)
    assert isinstance(profile, str), f"{request.module.__name__} must set PROFILE"
    extra = tuple(getattr(request.module, "DEMO_ARGS", ()))
    directory = tmp_path_factory.mktemp(f"demo-{profile}")
    with start_demo(profile, directory, extra_args=extra) as demo:
        yield demo
