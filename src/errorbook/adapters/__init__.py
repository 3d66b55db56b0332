"""One call per web framework puts the catalog in charge of an app's errors.

Each module imports its framework, so import the one you use; this package itself imports
none::

    from errorbook.adapters.fastapi import install

    layer = install(app, catalog="tape", auth=bearer(keys={...}))   # serve `layer`

``install`` wraps the app in `ErrorLayer` as the outermost ASGI layer, hands the framework's
exceptions on to it, gives it the app's route table and adds the catalog's errors to the
app's OpenAPI document where the framework makes one.
"""

from __future__ import annotations

from ._common import InstallError

__all__ = ["InstallError"]
