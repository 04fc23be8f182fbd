"""gunicorn's request corpus through the engine (acceptance item 1 of issue 18).

On the mock backend, each request is fed to ``serve_connection`` in several
splittings (whole, line by line, byte by byte, random), and every splitting
must give the same answers: the limits and checks look at the bytes, never at
how they arrived. Every ``invalid/`` request is refused (400, 413, 414, 431,
501 or 505, or the connection closed without an answer, and the handler never
sees it); every ``valid/`` one gets well-formed responses, and when accepted,
the handler sees what gunicorn's expectation says it should.

gunicorn's defaults and ours differ in places; the tables below name every
case that goes the other way from its directory, and why. Cases that
gunicorn decides under a non-default option (``compat_*``, ``limit_*``,
``header_map``, PROXY protocol...) follow our defaults and are in the tables
too. A few cases also run over loopback through ``greeneio-serve http``
(test_http_static.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from http_corpus import Case, load_case, names
from http_harness import SPLITS, chunked, serve

from greeneio import http as Http

pytestmark = pytest.mark.timeout(120)

REFUSALS = {400, 413, 414, 431, 501, 505}

# valid/ cases the engine refuses under its defaults: status, and why.
VALID_REFUSED: dict[str, tuple[int, str]] = {
    "009": (
        400,
        "Content-Length with Transfer-Encoding (identity): a smuggling signal, "
        "refused whatever the coding (RFC 9112 §6.1: handled as an error, then close)",
    ),
    "025": (
        501,
        "Transfer-Encoding gzip then chunked: a transfer coding the engine does "
        "not implement (RFC 9112 §6.1: 501)",
    ),
    "025_line": (501, "the same, as one field line"),
    "rfc9112_smuggle_gzip_chunked_01": (501, "gzip, chunked: as 025"),
    "027": (
        400,
        "raw UTF-8 bytes in the request-target (RFC 3986 allows ASCII only; "
        "llhttp refuses; clients percent-encode)",
    ),
    "031": (501, "-BLARGH is a token but no method the engine knows (RFC 9110 §9.1: 501)"),
    "099": (
        400,
        "the file holds 8,599 of the 17,914 body bytes its Content-Length "
        "announces: the input ends mid-body",
    ),
    # gunicorn accepts these only under a non-default option:
    "028": (
        400,
        "strip_header_spaces: whitespace between a field name and its colon "
        "(RFC 9112 §5.1: MUST be refused with 400)",
    ),
    "031compat": (501, "permit_unconventional_http_method: as 031"),
    "031compat2": (501, "permit_unconventional_http_method: as 031"),
    "compat_obs_fold": (
        400,
        "permit_obsolete_folding: obs-fold is refused (RFC 9112 §5.2 "
        "allows it; issue 18 asks for it)",
    ),
    "compat_obs_fold_huge": (400, "permit_obsolete_folding: as compat_obs_fold"),
    "pp_01": (501, "proxy_protocol: no PROXY protocol; 'PROXY' is not a method we know"),
    "pp_02": (501, "proxy_protocol: as pp_01"),
    "pp_04": (400, "proxy_protocol: a PROXY v2 binary header is no request line"),
    "pp_05": (400, "proxy_protocol: as pp_04"),
}

# valid/ cases with a non-default gunicorn option that the engine accepts anyway.
VALID_ACCEPTED_ANYWAY = {
    "024": "limit_request_line 8200: its 8,189-byte request line is within our 8,192",
    "026": "limit_request_field_size 8210: an 8,204-byte field is within our 64 KiB head",
    "040_compat": "header_map dangerous: the engine passes Content_Length and "
    "Transfer_Encoding through as the ordinary fields they are",
    "pp_03": "proxy_protocol: a request without a PROXY line is an ordinary request",
}

# invalid/ cases the engine accepts under its defaults, and why; each also has
# the Limits that make it refuse the case as gunicorn does, and the status then.
INVALID_ACCEPTED: dict[str, tuple[str, Http.Limits | None, int | None]] = {
    "006": (
        "a 4,112-byte request line: over gunicorn's default 4,094, within our 8,192 (SPEC §15)",
        Http.Limits(max_request_line=4094),
        414,
    ),
    "007": (
        "an 8,203-byte field line: over gunicorn's 8,190 per field; we limit the "
        "whole head (64 KiB)",
        Http.Limits(max_header_bytes=8190),
        431,
    ),
    "008": (
        "a 12 KiB header section of long fields: as 007",
        Http.Limits(max_header_bytes=8190),
        431,
    ),
    "017": (
        "a field line of 8,189 bytes plus its name: as 007",
        Http.Limits(max_header_bytes=8190),
        431,
    ),
    "limit_header_default_01": (
        "limit_request_field_size 0 (gunicorn's 8,190): as 007",
        Http.Limits(max_header_bytes=8190),
        431,
    ),
    "010": ("limit_request_field_size 10", Http.Limits(max_header_bytes=10), 431),
    "011": ("limit_request_fields 2", Http.Limits(max_headers=2), 431),
    "012": ("limit_request_field_size 98", Http.Limits(max_header_bytes=98), 431),
    "019": (
        "forwarded_allow_ips '*': X-Forwarded-Proto and X-Forwarded-Ssl disagree; "
        "the engine does not interpret X-Forwarded-* (a proxy-trust policy)",
        None,
        None,
    ),
    "040": (
        "header_map refuse: Transfer_Encoding and Content_Length are valid field "
        "names, distinct from the framing fields (a WSGI server must not let them "
        "become CONTENT_LENGTH or HTTP_TRANSFER_ENCODING)",
        None,
        None,
    ),
    "chunked_07": (
        "header_map refuse: Transfer_Encoding: gzip beside Transfer-Encoding: chunked, as 040",
        None,
        None,
    ),
}
# (invalid/013 and pp_01..pp_03 need non-default options in gunicorn too, and are
# refused under our defaults anyway: obs-fold, and no PROXY protocol.)


def echo(request: Http.Request, respond: Http.Responder) -> None:
    """Answer with what the engine parsed (after reading the body)."""
    body = request.body.read()
    info = {
        "method": request.method,
        "target": request.target.decode("latin-1"),
        "version": list(request.version),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.headers],
        "body": body.decode("latin-1"),
        "trailers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.trailers],
    }
    respond.send(200, [(b"Content-Type", b"application/json")], json.dumps(info).encode())


def answers(case: Case, how: str | int, limits: Http.Limits | None = None) -> list[Any]:
    """What the engine answered: one (status, parsed-request-or-None) a response."""
    served = serve(chunked(case.data, how), echo, limits=limits)
    out = []
    for r in served.responses:
        if r.status == 200:
            out.append((200, json.loads(r.body)))
        else:
            assert r.closes, f"a refusal must close the connection: {r}"
            out.append((r.status, None))
    assert served.flow.closed is False  # the engine leaves closing to its caller
    return out


def expected_request(exp: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "method": exp["method"],
        "target": exp["uri"],
        "version": list(exp["version"]),
        "headers": [[n, v] for n, v in exp["headers"]],
        "body": exp["body"].decode("latin-1") if isinstance(exp["body"], bytes) else exp["body"],
        "trailers": [[n, v] for n, v in exp.get("trailers", [])],
    }


def as_gunicorn_sees(got: dict[str, Any], name: str) -> dict[str, Any]:
    headers = [[n.upper(), v] for n, v in got["headers"]]
    if name == "040":  # gunicorn drops field names with "_" by default; we keep them
        headers = [h for h in headers if "_" not in h[0]]
    return {**got, "headers": headers, "trailers": [[n.upper(), v] for n, v in got["trailers"]]}


def test_the_corpus_is_all_there():
    assert len(names("valid")) == 63 and len(names("invalid")) == 74
    listed = set(VALID_REFUSED) | set(VALID_ACCEPTED_ANYWAY)
    assert listed <= set(names("valid"))
    assert set(INVALID_ACCEPTED) <= set(names("invalid"))
    # every case gunicorn decides under a non-default option is named above
    for name in names("valid"):
        if load_case("valid", name).options:
            assert name in listed, name
    for name in names("invalid"):
        if load_case("invalid", name).options and name not in ("013", "pp_01", "pp_02", "pp_03"):
            assert name in INVALID_ACCEPTED, name


@pytest.mark.parametrize("name", names("valid"))
def test_valid(name: str):
    case = load_case("valid", name)
    results = {how: answers(case, how) for how in SPLITS}
    first = results["whole"]
    assert all(r == first for r in results.values()), results  # however it arrives
    if name in VALID_REFUSED:
        status, _why = VALID_REFUSED[name]
        assert [s for s, _ in first] == [*([200] * (len(first) - 1)), status], first
        return
    # 019 and 021: the first request ends the connection (HTTP/1.0, Connection: close);
    # gunicorn's expectation lists only it.
    assert [s for s, _ in first] == [200] * len(case.expect), first
    for (_, got), exp in zip(first, case.expect, strict=True):
        assert as_gunicorn_sees(got, name) == expected_request(exp, name)


@pytest.mark.parametrize("name", names("invalid"))
def test_invalid(name: str):
    case = load_case("invalid", name)
    results = {how: answers(case, how) for how in SPLITS}
    first = results["whole"]
    assert all(r == first for r in results.values()), results
    if name in INVALID_ACCEPTED:
        _why, limits, status = INVALID_ACCEPTED[name]
        assert first and all(s == 200 for s, _ in first), first
        if limits is not None:  # with gunicorn's limits, refused as gunicorn does
            for how in SPLITS:
                assert [s for s, _ in answers(case, how, limits)] == [status]
        return
    # Refused: the last answer is a refusal (or none: closed), and nothing before it
    # came from the handler for this request (a pipelined valid one may precede it).
    assert not first or first[-1][0] in REFUSALS, first
    assert all(s == 200 for s, _ in first[:-1]), first


@pytest.mark.parametrize(
    "name, status",
    [("003c", 501), ("version_02", 505), ("chunked_03", 400), ("006", 200), ("009", 431)],
)
def test_statuses_of_a_few(name: str, status: int):
    # The statuses RFC 9110 asks for: 501 for an unknown method ("-bl" is a token),
    # 505 for HTTP/2.0 in a 1.1 request line, 431 for 101+ fields.
    assert answers(load_case("invalid", name), "whole")[-1][0] == status
