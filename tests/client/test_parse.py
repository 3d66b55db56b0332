"""Reading error responses: the right format is chosen, the entry identified, and whatever
a server or a proxy sends back becomes a Problem without the client ever crashing on it."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbook import Catalog, FieldError, FormatError, Problem, profile_names
from errorbook.client._errors import Attempt, ProblemError, Unparsed
from errorbook.client._parse import error_for, parse, problem_from, reason_phrase, snippet

CATALOGS = {name: Catalog.load(name) for name in profile_names()}
RFC = CATALOGS["rfc9457"]
TAPE = CATALOGS["tape"]
REQUEST = httpx.Request("GET", "https://api.example.com/v1/things")
XML = "application/problem+xml"


def _rendered(catalog: Catalog, key: str, *, media_type: str | None = None, **kw: Any) -> bytes:
    fmt = next(f for f in catalog.formats if media_type in (None, f.media_type))
    return fmt.render(catalog.problem(key, **kw))


def _unparsed(catalog: Catalog, body: bytes, status: int = 502, **headers: str) -> Problem:
    problem = problem_from(catalog, status=status, headers=headers, body=body)
    assert isinstance(problem, Unparsed)
    assert (problem.key, problem.code, problem.status) == (None, None, status)
    assert problem.message == reason_phrase(status)
    assert problem.detail is not None
    assert len(problem.detail) <= 200
    assert problem.detail.isprintable()
    error = error_for(catalog, problem, httpx.Response(status, request=REQUEST))
    assert type(error) is ProblemError
    assert error.parsed is False
    assert error.snippet == problem.detail
    return problem


class TestChoosingTheFormat:
    def test_content_type_picks_the_alternate(self) -> None:
        """An XML body labelled problem+xml (any case, any parameters) is read as XML."""
        body = _rendered(RFC, "rate_limited", media_type=XML, request_id="r-1")
        for content_type in (XML, "Application/Problem+XML; charset=utf-8"):
            problem = parse(RFC, body, status=429, content_type=content_type)
            assert (problem.key, problem.code, problem.request_id) == (
                "rate_limited",
                "rate_limited",
                "r-1",
            )

    def test_content_type_from_the_headers(self) -> None:
        """Without content_type, the headers' Content-Type (any case of its name) is used."""
        body = _rendered(RFC, "forbidden", media_type=XML)
        problem = parse(RFC, body, status=403, headers={"content-TYPE": XML})
        assert problem.key == "forbidden"

    @pytest.mark.parametrize("content_type", [None, "text/html", "application/problem+json"])
    def test_a_missing_or_wrong_label_still_parses(self, content_type: str | None) -> None:
        """Servers mislabel bodies; the other formats of the catalog are tried too."""
        body = _rendered(RFC, "forbidden", media_type=XML)
        assert parse(RFC, body, status=403, content_type=content_type).key == "forbidden"

    def test_no_format_reads_it(self) -> None:
        """parse itself raises FormatError, saying why each format refused the body."""
        with pytest.raises(FormatError) as caught:
            parse(RFC, b"<html>502</html>", status=502)
        message = str(caught.value)
        assert repr(RFC.name) in message
        assert "not a problem+json body" in message
        assert "not a problem+xml body" in message


class TestIdentifying:
    def test_known_code(self) -> None:
        """A body's wire code names the entry: key, title and type come from the catalog."""
        body = _rendered(TAPE, "validation_error")
        problem = parse(TAPE, body, status=400)
        assert (problem.key, problem.code, problem.status) == (
            "validation_error",
            "validation_error",
            400,
        )
        assert problem.title == TAPE["validation_error"].title_in(None, TAPE.language)
        assert problem.type == TAPE.type_uri(TAPE["validation_error"])

    def test_unknown_code_keeps_the_code(self) -> None:
        """A code no entry has (a newer server) is kept, and raises the base class."""
        body = json.dumps(
            {"status": 400, "error_code": "quota_frozen", "error_message": "Frozen."}
        ).encode()
        problem = problem_from(TAPE, status=400, headers={}, body=body)
        assert (problem.key, problem.code, problem.message) == (None, "quota_frozen", "Frozen.")
        error = error_for(TAPE, problem, httpx.Response(400, request=REQUEST))
        assert type(error) is ProblemError
        assert error.parsed is True
        assert str(error) == "400 quota_frozen: Frozen."

    def test_message_only_shape_with_folded_fields(self) -> None:
        """wetransfer's body is only a message; with field errors folded into it, the entry
        is still found by the message it starts with."""
        catalog = CATALOGS["wetransfer"]
        fields = [FieldError("/size", "mismatch", "does not add up")]
        body = _rendered(catalog, "size_mismatch", received=3, declared=5, fields=fields)
        assert json.loads(body) == {"message": "Expected 3 to be 5 /size: does not add up"}
        problem = parse(catalog, body, status=400)
        assert (problem.key, problem.code) == ("size_mismatch", "size_mismatch")
        assert problem.message == "Expected 3 to be 5 /size: does not add up"
        assert problem.fields == ()

    def test_message_only_shape_without_a_match(self) -> None:
        """A message no entry's template fits is parsed, with no key and no code."""
        body = b'{"message": "Something else entirely."}'
        problem = problem_from(CATALOGS["symbl"], status=400, headers={}, body=body)
        assert not isinstance(problem, Unparsed)
        assert (problem.key, problem.code, problem.message) == (
            None,
            None,
            "Something else entirely.",
        )

    def test_title_in_the_language_of_the_message(self) -> None:
        """Tape's body has no title; a German message gets the entry's German title, not
        the catalog's English one."""
        body = _rendered(TAPE, "maintenance", language="de")
        problem = parse(TAPE, body, status=503)
        assert problem.key == "maintenance"
        assert problem.language == "de"
        assert problem.title == TAPE["maintenance"].title_in("de", "en")
        assert problem.title != TAPE["maintenance"].title_in("en", "en")

    def test_the_bodys_status_wins(self) -> None:
        """A body that states its status is taken at its word (the status line may be a
        proxy's); a body without one gets the response's."""
        body = _rendered(TAPE, "validation_error")
        assert parse(TAPE, body, status=502).status == 400
        symbl = _rendered(CATALOGS["symbl"], "forbidden")
        assert parse(CATALOGS["symbl"], symbl, status=403).status == 403

    @pytest.mark.parametrize("claimed", [200, 302, 101], ids=["ok", "redirect", "informational"])
    def test_a_body_claiming_no_error_is_not_believed(self, claimed: int) -> None:
        """An error answer whose body states a status that is not 4xx/5xx: the status line
        stands, and the entry is still identified by code."""
        body = json.dumps(
            {"type": "about:blank", "status": claimed, "title": "OK", "detail": "fine"}
        ).encode()
        assert parse(RFC, body, status=500).status == 500
        tape = json.loads(_rendered(TAPE, "validation_error"))
        problem = parse(TAPE, json.dumps({**tape, "status": claimed}).encode(), status=503)
        assert (problem.key, problem.status) == ("validation_error", 503)


class TestRequestId:
    def test_body_wins_over_header(self) -> None:
        """The id the body carries is the one the server logged with the error."""
        body = _rendered(RFC, "forbidden", request_id="from-body")
        problem = parse(RFC, body, status=403, headers={"X-Request-Id": "from-header"})
        assert problem.request_id == "from-body"

    @pytest.mark.parametrize(
        "headers",
        [{"X-Request-Id": "abc-123"}, {"x-request-id": " abc-123 "}],
        ids=["dict", "lowercase-padded"],
    )
    def test_header_when_the_body_has_none(self, headers: dict[str, str]) -> None:
        """Tape's body has no request id; the X-Request-Id header supplies it."""
        problem = parse(TAPE, _rendered(TAPE, "not_found"), status=404, headers=headers)
        assert problem.request_id == "abc-123"
        again = parse(
            TAPE, _rendered(TAPE, "not_found"), status=404, headers=httpx.Headers(headers)
        )
        assert again.request_id == "abc-123"

    @pytest.mark.parametrize(
        "value",
        ["two words", "x" * 201, "caf\u00e9", "a\tb", "", "id\x7f"],
        ids=["space", "too-long", "non-ascii", "tab", "empty", "del"],
    )
    def test_a_header_that_is_not_a_token_is_ignored(self, value: str) -> None:
        """Only a plain printable-ASCII token of at most 200 characters is taken."""
        headers = {"X-Request-Id": value}
        assert (
            parse(TAPE, _rendered(TAPE, "not_found"), status=404, headers=headers).request_id
            is None
        )
        assert _unparsed(TAPE, b"", 502, **headers).request_id is None

    @pytest.mark.parametrize(
        "value",
        ["abc\n2024-01-01 CRITICAL admin logged in\x1b[31m", "two words", "x" * 201, ""],
        ids=["newline-and-escape", "space", "too-long", "empty"],
    )
    def test_a_body_id_that_is_not_a_token_is_dropped(self, value: str) -> None:
        """The header's rule holds for the body's id too: one that is not a token is not the
        request id (a clean header then stands in); the rest of the body is kept."""
        body = json.dumps(
            {"type": "about:blank", "status": 503, "title": "t", "detail": "d", "request_id": value}
        ).encode()
        problem = parse(RFC, body, status=503)
        assert problem.request_id is None
        assert problem.message == "d"
        assert parse(RFC, body, status=503, headers={"X-Request-Id": "h-1"}).request_id == "h-1"
        error = error_for(RFC, problem, httpx.Response(503, request=REQUEST))
        assert "request id" not in str(error)
        assert str(error).isprintable()

    def test_unparsed_body_takes_the_header(self) -> None:
        """Even an HTML error page can be matched to the server's logs."""
        assert _unparsed(TAPE, b"<html/>", 502, **{"X-Request-Id": "r-9"}).request_id == "r-9"


class TestUnparsedBodies:
    def test_html_502_page(self) -> None:
        """A proxy's HTML page: reason phrase as message, the page's start as detail."""
        page = (
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n"
        )
        problem = _unparsed(TAPE, page, 502, **{"Content-Type": "text/html"})
        assert problem.message == "Bad Gateway"
        assert problem.detail == (
            "<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad "
            "Gateway</h1></center> <hr><center>nginx</center> </body> </html>"
        )
        error = error_for(TAPE, problem, httpx.Response(502, request=REQUEST))
        assert str(error) == "502: Bad Gateway"

    @pytest.mark.parametrize("profile", profile_names())
    def test_empty_body(self, profile: str) -> None:
        """An empty 502 gives the reason phrase and an empty detail."""
        assert _unparsed(CATALOGS[profile], b"", 502).detail == ""

    def test_a_mebibyte_of_garbage(self) -> None:
        """1 MiB of random bytes: no exception, a short printable snippet."""
        garbage = random.Random(5).randbytes(1 << 20)
        for catalog in CATALOGS.values():
            assert _unparsed(catalog, garbage, 503).detail

    @pytest.mark.parametrize("profile", profile_names())
    def test_invalid_utf8(self, profile: str) -> None:
        """A body in the right shape but not UTF-8 is not read; the snippet shows U+FFFD."""
        catalog = CATALOGS[profile]
        body = catalog.format.render(catalog.problem(catalog.keys[0], **_params(catalog)))
        broken = body.replace(b'"', b'"\xff\xfe', 1)
        problem = _unparsed(catalog, broken, 400)
        assert "\ufffd" in (problem.detail or "")

    @pytest.mark.parametrize(
        ("profile", "body"),
        [
            ("tape", b'{"error": {"code": "x"}}'),
            ("tape", b'{"status": 400, "error_code": "x", "error_message": 5}'),
            ("rfc9457", b"[1, 2, 3]"),
            ("rfc9457", b'{"status": "400", "detail": "x"}'),
            ("symbl", b'{"message": ["a"]}'),
            ("discord", b'{"message": "m", "code": 1, "retry_after": -1}'),
            ("rebuild", b'"just a string"'),
        ],
    )
    def test_json_of_the_wrong_shape(self, profile: str, body: bytes) -> None:
        """Valid JSON that is not the catalog's shape is reported as unparsed, not raised."""
        _unparsed(CATALOGS[profile], body, 400, **{"Content-Type": "application/json"})

    def test_nesting_past_the_recursion_limit(self) -> None:
        """100k nested arrays reach no RecursionError."""
        for catalog in CATALOGS.values():
            _unparsed(catalog, b"[" * 100_000 + b"]" * 100_000, 500)

    def test_a_cut_body_is_not_parsed(self) -> None:
        """complete=False: the start of a body may parse yet say less than the whole."""
        body = _rendered(TAPE, "validation_error")
        problem = problem_from(TAPE, status=400, headers={}, body=body, complete=False)
        assert isinstance(problem, Unparsed)
        assert problem.detail == body.decode()

    def test_a_custom_format_that_breaks_its_promise(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """problem_from never raises, even when a format raises something else than
        FormatError."""

        class Broken:
            name = "broken"
            media_type = "application/json"
            carries = frozenset({"message", "status"})

            def render(self, problem: Problem) -> bytes:
                return b"{}"

            def parse(self, body: bytes, *, status: int | None = None) -> Problem:
                raise KeyError("bug")

        catalog = Catalog.load("tape")
        monkeypatch.setattr(catalog, "format", Broken())
        _unparsed(catalog, b'{"status": 400}', 400)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<problem xmlns="urn:ietf:rfc:7807"><status>400</status><detail>&lol9;</detail></problem>"""


class TestXmlAttacks:
    def test_billion_laughs_is_not_expanded(self) -> None:
        """Entity expansion never happens: the body is refused as it stands."""
        problem = _unparsed(RFC, BILLION_LAUGHS, 400, **{"Content-Type": XML})
        assert "lollol" not in (problem.detail or "")
        assert (problem.detail or "").startswith('<?xml version="1.0"?> <!DOCTYPE lolz [')

    def test_internal_entity_is_not_expanded(self) -> None:
        """Even a harmless-looking entity is not read into the message."""
        body = (
            b'<!DOCTYPE problem [<!ENTITY who "an entity">]>'
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b"<detail>&who;</detail></problem>"
        )
        problem = _unparsed(RFC, body, 400, **{"Content-Type": XML})
        assert problem.message == "Bad Request"

    def test_external_entity_is_not_read(self, tmp_path: Path) -> None:
        """A SYSTEM entity pointing at a local file never brings the file in."""
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-VALUE")
        body = (
            f'<?xml version="1.0"?><!DOCTYPE problem [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            '<problem xmlns="urn:ietf:rfc:7807"><status>400</status><detail>&x;</detail>'
            "</problem>"
        ).encode()
        problem = _unparsed(RFC, body, 400, **{"Content-Type": XML})
        assert "TOP-SECRET-VALUE" not in f"{problem.detail} {problem.message}"
        assert problem.extensions == {}


class TestReasonAndSnippet:
    @pytest.mark.parametrize(
        ("status", "phrase"),
        [
            (502, "Bad Gateway"),
            (429, "Too Many Requests"),
            (522, "Server Error"),
            (499, "Client Error"),
            (600, "Unknown Status"),
            (299, "Unknown Status"),
        ],
    )
    def test_reason_phrase(self, status: int, phrase: str) -> None:
        """Known codes get their phrase; Cloudflare's 522 and friends their class's name."""
        assert reason_phrase(status) == phrase

    def test_snippet_is_one_clean_line(self) -> None:
        """Whitespace runs collapse; controls, escapes and bidi overrides become U+FFFD."""
        assert snippet(b"  a\n\n\tb\r\n  c  ") == "a b c"
        assert snippet(b"red \x1b[31m\x00x") == "red \ufffd[31m\ufffdx"
        assert snippet("a\u202eb".encode()) == "a\ufffdb"
        assert snippet(b"") == ""
        assert snippet(b"   \n ") == ""

    def test_snippet_is_at_most_200_characters(self) -> None:
        """A long body is cut, and the cut is marked."""
        cut = snippet(b"x" * 5000)
        assert len(cut) == 200
        assert cut == "x" * 199 + "\u2026"
        assert snippet(b"y" * 200) == "y" * 200


class TestErrorFor:
    def test_typed_class_is_caught_by_the_catalogs_namespace(self) -> None:
        """`except tape.errors.ValidationError` catches what error_for builds, whichever
        load of the catalog the transport used."""
        body = _rendered(TAPE, "validation_error")
        problem = problem_from(TAPE, status=400, headers={}, body=body)
        error = error_for(TAPE, problem, httpx.Response(400, request=REQUEST))
        tape = Catalog.load("tape")  # another load, as in another module
        with pytest.raises(tape.errors.ValidationError):
            raise error
        assert isinstance(error, ProblemError)
        assert isinstance(error, httpx.HTTPStatusError)
        assert not isinstance(error, tape.errors.InvalidJsonError)

    def test_carries_response_and_attempts(self) -> None:
        """The error keeps the response and the attempts the transport passes."""
        attempt = Attempt(
            1, "GET", str(REQUEST.url), 400, "not_found", None, 0.0, "not-retryable", 0.01
        )
        response = httpx.Response(404, request=REQUEST)
        problem = problem_from(TAPE, status=404, headers={}, body=_rendered(TAPE, "not_found"))
        error = error_for(TAPE, problem, response, [attempt])
        assert error.response is response
        assert error.request is REQUEST
        assert error.attempts == (attempt,)
        assert type(error) is TAPE.exception("not_found")

    def test_a_key_from_another_catalog_gets_the_base_class(self) -> None:
        """A Problem naming an entry this catalog lacks is not forced into a typed class."""
        problem = Problem(key="elsewhere", code="elsewhere", status=400, message="m")
        error = error_for(TAPE, problem, httpx.Response(400, request=REQUEST))
        assert type(error) is ProblemError


def _params(catalog: Catalog) -> dict[str, Any]:
    spec = catalog[catalog.keys[0]]
    return {
        name: {"str": "s", "int": 1, "float": 1.5, "bool": True}[t]
        for name, t in spec.params.items()
    }


@pytest.mark.parametrize("profile", profile_names())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
            max_leaves=8,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    status=st.integers(100, 599),
    content_type=st.sampled_from([None, "application/json", XML, "text/html", "a/b;;;"]),
)
def test_problem_from_never_raises(
    profile: str, body: bytes, status: int, content_type: str | None
) -> None:
    """Any bytes with any status and label become a Problem and an error for it."""
    catalog = CATALOGS[profile]
    headers = {"Content-Type": content_type} if content_type else {}
    problem = problem_from(catalog, status=status, headers=headers, body=body)
    assert 100 <= problem.status <= 599
    error = error_for(catalog, problem, httpx.Response(status, request=REQUEST))
    assert error.problem is problem
    assert str(error)
