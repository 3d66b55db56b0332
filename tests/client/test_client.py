"""errorbook.client.Client and AsyncClient: httpx clients with a catalog, a key, retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import errorbook.client
from errorbook import Catalog
from errorbook.client import AsyncClient, Client, ProblemError, RetryPolicy, testing

BASE = "https://api.test"
Handler = Callable[[httpx.Request], httpx.Response]


class Recording(httpx.MockTransport):
    """A MockTransport that remembers the requests it saw and whether it was closed."""

    def __init__(self, handler: Handler) -> None:
        super().__init__(self._record)
        self._answer = handler
        self.requests: list[httpx.Request] = []
        self.closed = False

    def _record(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def statuses(*codes: int) -> Handler:
    answers = list(codes)
    return lambda request: httpx.Response(answers.pop(0))


class TestKey:
    def test_bearer_for_authorization(self) -> None:
        transport = Recording(ok)
        with Client(BASE, api_key="s3cret", transport=transport) as client:
            client.get("/x")
        assert transport.requests[0].headers["Authorization"] == "Bearer s3cret"

    def test_raw_key_in_another_header(self) -> None:
        transport = Recording(ok)
        with Client(BASE, api_key="s3cret", api_key_header="X-Api-Key", transport=transport) as c:
            c.get("/x")
        assert transport.requests[0].headers["x-api-key"] == "s3cret"
        assert "authorization" not in transport.requests[0].headers

    def test_key_replaces_a_header_of_the_same_name_and_keeps_the_others(self) -> None:
        transport = Recording(ok)
        headers = {"X-Api-Key": "old", "X-Trace": "t1"}
        with Client(
            BASE, api_key="new", api_key_header="x-api-key", headers=headers, transport=transport
        ) as client:
            client.get("/x")
        sent = transport.requests[0].headers
        assert sent.get_list("x-api-key") == ["new"]
        assert sent["x-trace"] == "t1"

    @pytest.mark.parametrize(
        "key", ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b", "a\x7fb", "\u20ac", "\u4e2d", ""]
    )
    def test_key_that_could_split_the_header_is_refused(self, key: str) -> None:
        with pytest.raises(ValueError, match="api_key") as caught:
            Client(BASE, api_key=key)
        if key:
            assert key not in str(caught.value)  # a secret stays out of the message

    def test_latin1_key_is_sent_as_latin1(self) -> None:
        transport = Recording(ok)
        with Client(BASE, api_key="caf\u00e9", api_key_header="X-Key", transport=transport) as c:
            c.get("/x")
        assert transport.requests[0].headers.raw[-1] == (b"X-Key", b"caf\xe9")

    def test_bad_header_name_is_refused(self) -> None:
        with pytest.raises(ValueError, match="api_key_header"):
            Client(BASE, api_key="k", api_key_header="X Key")

    def test_async_refuses_the_same(self) -> None:
        with pytest.raises(ValueError, match="api_key"):
            AsyncClient(BASE, api_key="a\r\nb")


class TestCatalog:
    def test_profile_name(self) -> None:
        with Client(BASE, catalog="discord", transport=Recording(ok)) as client:
            assert client.catalog.name == "Discord API"

    def test_default_is_rfc9457(self) -> None:
        with Client(BASE, transport=Recording(ok)) as client:
            assert client.catalog.name == "RFC 9457 problem details"

    def test_file_path(self, tmp_path: Path) -> None:
        path = tmp_path / "errors.yaml"
        path.write_text(
            "name: Files API\nformat: problem+json\nerrors:\n"
            "  gone:\n    status: 410\n    message: It is gone.\n"
        )
        with Client(BASE, catalog=str(path), transport=Recording(ok)) as client:
            assert client.catalog.name == "Files API"
            assert "gone" in client.catalog

    def test_typed_error_from_the_catalog(self) -> None:
        tape = Catalog.load("discord")
        body = tape.format.render(tape.problem("empty_message"))

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(400, content=body, headers={"Content-Type": "application/json"})

        with (
            Client(BASE, catalog=tape, transport=Recording(handler)) as client,
            pytest.raises(client.catalog.exception("empty_message")) as caught,
        ):
            client.post("/channels/1/messages", json={})
        assert caught.value.code == 50006
        assert caught.value.response.json()["code"] == 50006

    def test_parse(self) -> None:
        discord = Catalog.load("discord")
        body = discord.format.render(discord.problem("empty_message"))
        with Client(BASE, catalog=discord, transport=Recording(ok)) as client:
            problem = client.parse(httpx.Response(400, content=body))
            garbage = client.parse(httpx.Response(502, content=b"<html>proxy</html>"))
        assert (problem.key, problem.code, problem.status) == ("empty_message", 50006, 400)
        assert (garbage.key, garbage.status, garbage.message) == (None, 502, "Bad Gateway")


class TestRetries:
    def test_retries_with_the_policy(self) -> None:
        transport = Recording(statuses(503, 503, 200))
        policy = RetryPolicy(attempts=3, budget=None)
        with testing(), Client(BASE, transport=transport, policy=policy) as client:
            response = client.get("/x")
        assert response.status_code == 200
        assert [r.headers.get("x-failed-requests") for r in transport.requests] == [
            None,
            "1",
            "2",
        ]
        assert client.policy is policy

    def test_error_after_retries(self) -> None:
        transport = Recording(statuses(503, 503))
        with (
            testing(),
            Client(
                BASE, transport=transport, policy=RetryPolicy(attempts=2, budget=None)
            ) as client,
            pytest.raises(ProblemError) as caught,
        ):
            client.get("/x")
        assert [a.reason for a in caught.value.attempts] == ["backoff", "attempts-exhausted"]

    def test_mounts_are_wrapped_too(self) -> None:
        """A request routed through ``mounts=`` (or a proxy) is retried like the others."""
        other = Recording(statuses(503, 200))
        with (
            testing(),
            Client(
                BASE,
                transport=Recording(ok),
                mounts={"https://other.test": other},
                policy=RetryPolicy(budget=None),
            ) as client,
        ):
            assert client.get("https://other.test/y").status_code == 200
        assert len(other.requests) == 2

    def test_closing_closes_the_wrapped_transport(self) -> None:
        transport = Recording(ok)
        with Client(BASE, transport=transport):
            pass
        assert transport.closed

    def test_httpx_arguments_pass_through(self) -> None:
        transport = Recording(ok)
        with Client(BASE, transport=transport, headers={"X-A": "1"}, timeout=3.0) as client:
            client.get("/x")
            assert client.timeout.read == 3.0
        assert transport.requests[0].headers["x-a"] == "1"
        assert transport.requests[0].url == "https://api.test/x"


class TestAsync:
    def run(self, main: Callable[[], Any]) -> Any:
        return asyncio.run(main())

    def test_retries_key_and_close(self) -> None:
        transport = Recording(statuses(502, 200))

        async def main() -> httpx.Response:
            async with AsyncClient(
                BASE, api_key="k", transport=transport, policy=RetryPolicy(budget=None)
            ) as client:
                return await client.get("/x")

        with testing():
            response = self.run(main)
        assert response.status_code == 200
        assert [r.headers["authorization"] for r in transport.requests] == ["Bearer k"] * 2
        assert transport.closed

    def test_typed_error_and_parse(self) -> None:
        discord = Catalog.load("discord")
        body = discord.format.render(discord.problem("empty_message"))
        transport = Recording(lambda request: httpx.Response(400, content=body))

        async def main() -> ProblemError:
            async with AsyncClient(BASE, catalog="discord", transport=transport) as client:
                with pytest.raises(ProblemError) as caught:
                    await client.get("/x")
                assert client.parse(caught.value.response).key == "empty_message"
                return caught.value

        error = self.run(main)
        assert error.key == "empty_message"


class TestPublicSurface:
    def test_all_matches_the_spec(self) -> None:
        assert errorbook.client.__all__ == [
            "AsyncClient",
            "AsyncRetryTransport",
            "Attempt",
            "CircuitBreaker",
            "CircuitOpenError",
            "Client",
            "Clock",
            "ProblemError",
            "RetryBudget",
            "RetryPolicy",
            "RetryTransport",
            "SystemClock",
            "error_for",
            "parse",
            "problem_from",
            "testing",
        ]
        public = {name for name in vars(errorbook.client) if not name.startswith("_")}
        assert public == set(errorbook.client.__all__)

    def test_names_say_the_public_module(self) -> None:
        for name in errorbook.client.__all__:
            assert getattr(errorbook.client, name).__module__ == "errorbook.client", name
