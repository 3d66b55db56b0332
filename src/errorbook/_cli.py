"""The ``errorbook`` command: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from ._catalog import Catalog
from ._docs_config import DOCS_STYLES
from ._errors import ErrorbookError, ParamError, UnknownEntryError
from ._spec import ErrorSpec

__all__ = ["main"]


def _load(source: str) -> Catalog:
    try:
        return Catalog.load(source)
    except ErrorbookError as exc:
        _fail(exc)


def _fail(exc: ErrorbookError, code: int | None = None) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code if code is None else code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="errorbook")
def main() -> None:
    """One error catalog: server answers, glossary docs, and clients, from one file.

    CATALOG is a built-in profile name (see `errorbook profiles`) or a YAML/TOML file.
    """


@main.command()
def profiles() -> None:
    """List the built-in profiles, one a line."""
    from ._profiles import profile_names

    for name in profile_names():
        catalog = Catalog.load(name)
        click.echo(
            f"{name:<12} {catalog.format.name:<14} {len(catalog):>3} entries  {catalog.name}"
        )


@main.command("lint")
@click.argument("catalog")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def lint_command(catalog: str, strict: bool) -> None:
    """Check CATALOG; print `file:line: key: what is wrong` and exit 1 on errors."""
    from ._lint import lint

    report = lint(catalog)
    for finding in report.errors:
        click.echo(f"{finding}", err=True)
    for finding in report.warnings:
        click.echo(f"{finding} (warning)", err=True)
    if not report.ok or (strict and report.warnings):
        sys.exit(1)
    assert report.catalog is not None
    click.echo(f"{report.catalog.name}: {len(report.catalog)} entries, ok")


@main.command()
@click.argument("catalog")
@click.argument("key")
@click.argument("params", nargs=-1)
@click.option("--accept", default=None, help="An Accept header, e.g. application/problem+xml.")
@click.option("--language", default=None, help="The language of the message (de, pt-BR...).")
@click.option("--request-id", default=None, help="A request id to put in the problem.")
def render(
    catalog: str,
    key: str,
    params: tuple[str, ...],
    accept: str | None,
    language: str | None,
    request_id: str | None,
) -> None:
    """Print the HTTP response a client gets for entry KEY (or its wire code).

    PARAMS are name=value pairs for the message template; missing ones take the entry's
    example values.
    """
    from ._response import render_response

    loaded = _load(catalog)
    spec = _find(loaded, key)
    values = dict(spec.example)
    for pair in params:
        name, sep, raw = pair.partition("=")
        if not sep:
            _fail(ParamError(f"expected name=value, got {pair!r}"), 2)
        values[name] = _convert(spec, name, raw)
    try:
        problem = loaded.problem(spec.key, language=language, request_id=request_id, **values)
    except ErrorbookError as exc:
        _fail(exc, 2)
    click.echo(render_response(loaded, problem, accept=accept).to_http(newline="\n"))


def _find(catalog: Catalog, key: str) -> ErrorSpec:
    if key in catalog:
        return catalog[key]
    try:
        return catalog.by_code(key)
    except UnknownEntryError:
        _fail(
            UnknownEntryError(
                f"{catalog.name} has no entry or code {key!r}; entries: {', '.join(catalog.keys)}"
            ),
            2,
        )


def _convert(spec: ErrorSpec, name: str, raw: str) -> Any:
    type_name = spec.params.get(name)
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        _fail(ParamError(f"{spec.key}: parameter {name!r} must be {type_name}, got {raw!r}"), 2)
    if type_name == "bool":
        if raw.lower() not in ("true", "false"):
            _fail(
                ParamError(f"{spec.key}: parameter {name!r} must be true or false, got {raw!r}"), 2
            )
        return raw.lower() == "true"
    return raw


@main.command()
@click.argument("catalog")
@click.option(
    "--style",
    type=click.Choice(DOCS_STYLES),
    default=None,
    help="Override the catalog's page style.",
)
@click.option("--html", "as_html", is_flag=True, help="A standalone HTML page instead of Markdown.")
@click.option("--language", default=None, help="Language of titles and messages.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def docs(
    catalog: str, style: str | None, as_html: bool, language: str | None, output: Path | None
) -> None:
    """Render CATALOG's error glossary as Markdown (or HTML)."""
    from ._docs import render_html, render_markdown

    loaded = _load(catalog)
    renderer = render_html if as_html else render_markdown
    text = renderer(loaded, style=style, language=language)
    if output is None:
        click.echo(text, nl=False)
        return
    # Write beside the target and rename, so an interrupted run never leaves half a page.
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)
    click.echo(f"wrote {output}", err=True)


@main.command("diff")
@click.argument("old")
@click.argument("new")
def diff_command(old: str, new: str) -> None:
    """List changes from OLD to NEW; exit 1 if any would break clients."""
    from ._diff import diff

    changes = diff(_load(old), _load(new))
    for change in changes:
        click.echo(str(change))
    if not changes:
        click.echo("no changes")
    if any(change.breaking for change in changes):
        sys.exit(1)


@main.command()
@click.argument("catalogs", nargs=-1)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def preview(catalogs: tuple[str, ...], host: str, port: int) -> None:
    """Serve the HTML glossary of CATALOGS (default: every built-in profile)."""
    from ._preview import serve

    try:
        serve(catalogs, host=host, port=port)
    except ErrorbookError as exc:
        _fail(exc)


@main.command()
@click.option("--profile", default="rfc9457", show_default=True, help="A built-in profile.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default="8000", show_default=True, help="0 picks a free port.")
@click.option(
    "--db",
    default="errorbook-demo.sqlite3",
    show_default=True,
    help="The SQLite file, created when missing; :memory: for a throwaway run.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help="An accepted key, its own owner (repeatable); one is generated when absent.",
)
@click.option("--jwt-secret", default=None, help="rebuild only: the HS256 secret (32+ bytes).")
@click.option("--rebuild-limit", default=None, help="The largest POST /v1/rebuild body, in bytes.")
@click.option(
    "--store",
    "store_url",
    default="memory://",
    show_default=True,
    help="Where rate limits, leases and idempotency keys live: memory:// or redis://HOST:PORT/DB.",
)
@click.option(
    "--rate",
    "rates",
    multiple=True,
    help="A rate limit per credential on every /v1 route, e.g. 100/minute (repeatable).",
)
@click.option(
    "--store-policy",
    type=click.Choice(["fail_open", "fail_closed"]),
    default="fail_open",
    show_default=True,
    help="When the store fails: serve without limits, or answer 503.",
)
@click.option("--max-jobs", default="3", show_default=True, help="Running jobs per credential.")
@click.option(
    "--workers",
    default="1",
    show_default=True,
    help="Worker processes; above 1 needs a shared --store (redis://) and a --db file.",
)
def demo(
    profile: str,
    host: str,
    port: str,
    db: str,
    api_keys: tuple[str, ...],
    jwt_secret: str | None,
    rebuild_limit: str | None,
    store_url: str,
    rates: tuple[str, ...],
    store_policy: str,
    max_jobs: str,
    workers: str,
) -> None:
    """Run the reference service: a small real API on SQLite, answering every error the
    PROFILE's way. Prints its URL, credentials and a few curl commands that show errors."""
    import secrets

    from ._profiles import profile_names

    if profile not in profile_names():
        _usage(
            f"--profile: no built-in profile {profile!r}; expected one of "
            f"{', '.join(profile_names())}"
        )
    port_number = _count("--port", port, maximum=65535)
    limit = None if rebuild_limit is None else _count("--rebuild-limit", rebuild_limit)
    jobs = _count("--max-jobs", max_jobs)
    if jobs < 1:
        _usage(f"--max-jobs: expected a whole number from 1 or more, got {max_jobs!r}")
    processes = _count("--workers", workers, maximum=64)
    if processes < 1:
        _usage(f"--workers: expected a whole number from 1 to 64, got {workers!r}")
    for rate in rates:
        why = _check_rate(rate)
        if why is not None:
            _usage(f"--rate: {why}")
    if processes > 1 and store_url.lower().startswith("memory:"):
        _usage("--workers: several workers need a shared --store (redis://...), not memory://")
    if processes > 1 and db == ":memory:":
        _usage("--workers: several workers need a --db file to share, not :memory:")
    try:
        from ._demo import create_app, store_of
        from ._demo._app import ENVIRONMENT
        from ._demo._credentials import check_key, check_secret, credentials
        from ._demo._serve import banner, bind, run, run_workers, url_of
        from ._demo._store import StoreError
        from ._state import open_store
    except ImportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    try:
        open_store(store_url)  # checked here, opened (lazily) by the service itself
    except ValueError as exc:
        _usage(f"--store: {exc}")
    except ImportError as exc:
        click.echo(f"error: --store: {exc}", err=True)
        sys.exit(1)
    for key in api_keys:
        why = check_key(key)
        if why is not None:
            _usage(f"--api-key: {why}")
    keys = list(dict.fromkeys(api_keys)) or [secrets.token_urlsafe(24)]
    if profile == "rebuild":
        if jwt_secret is None:
            jwt_secret = secrets.token_urlsafe(32)
        why = check_secret(jwt_secret)
        if why is not None:
            _usage(f"--jwt-secret: {why}")
    settings: dict[str, Any] = {
        "api_keys": keys,
        "db": db,
        "jwt_secret": jwt_secret,
        "rebuild_limit": limit,
        "store": store_url,
        "rate": list(rates),
        "max_jobs": jobs,
        "on_store_error": store_policy,
    }
    try:
        # Built here even with workers: it checks every setting and creates the database's
        # schema once, before the workers race to.
        layer = create_app(profile, **settings)
    except StoreError as exc:
        _usage(f"--db: {exc}")
    try:
        sock = bind(host, port_number)
    except OSError as exc:
        store_of(layer).close()
        _usage(f"--host/--port: cannot listen on {host}:{port_number}: {exc.strerror or exc}")
    try:
        shown = credentials(profile, keys, jwt_secret)
        text = banner(profile=profile, url=url_of(sock), database=db, credentials=shown)

        def show() -> None:
            click.echo(text)
            sys.stdout.flush()

        if processes == 1:
            show()
            run(layer, sock)
        else:
            store_of(layer).close()
            # The workers import the app by name and read their settings from here.
            os.environ[ENVIRONMENT] = json.dumps({"profile": profile, **settings})
            run_workers(sock, processes, on_ready=show)
    finally:
        store_of(layer).close()
    click.echo("errorbook demo: stopped", err=True)


def _usage(message: str) -> NoReturn:
    """A bad flag: one line on stderr, exit 2 (click's code for usage errors)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _check_rate(spec: str) -> str | None:
    """Why ``spec`` is not a rate limit, or None."""
    from ._state import Limit

    try:
        Limit.parse(spec)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _count(flag: str, raw: str, *, maximum: int | None = None) -> int:
    """A whole number from 0 to ``maximum``, or a one-line usage error."""
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else -1
    if value < 0 or (maximum is not None and value > maximum):
        upper = f" to {maximum}" if maximum is not None else " or more"
        _usage(f"{flag}: expected a whole number from 0{upper}, got {raw!r}")
    return value
