"""Route rules: handler folder names (§1.5), Architect's route order (§1.4) and path validation."""

from __future__ import annotations

import random

import pytest

from sandbox._manifest.routes import route_problem
from sandbox.manifest import route_folder, sort_routes


@pytest.mark.parametrize(
    ("method", "path", "folder"),
    [
        pytest.param("get", "/", "get-index", id="root"),
        pytest.param("get", "/notes/:id", "get-notes-000id", id="param"),
        pytest.param("post", "/api/v1.0/my-thing", "post-api-v1_0-my_thing", id="dot-and-dash"),
        pytest.param("any", "/*", "any-catchall", id="any-catchall"),
        pytest.param("get", "/widgets/*", "get-widgets-catchall", id="nested-catchall"),
        pytest.param("get", "/python3.13", "get-python3_13", id="python-mock"),
        pytest.param("delete", "/a_b/:c-d.e", "delete-a_b-000c_d_e", id="underscore-kept-param-encoded"),
        pytest.param("GET", "/Upper", "get-Upper", id="method-lower-case-path-kept"),
    ],
)
def test_route_folder_follows_architect_naming(method: str, path: str, folder: str) -> None:
    assert route_folder(method, path) == folder


ORDER_CASES = [
    pytest.param(
        [
            ("any", "/*"),
            ("get", "/x"),
            ("head", "/x"),
            ("options", "/x"),
            ("delete", "/x"),
            ("patch", "/x"),
            ("put", "/x"),
            ("post", "/x"),
        ],
        [
            ("get", "/x"),
            ("post", "/x"),
            ("put", "/x"),
            ("patch", "/x"),
            ("delete", "/x"),
            ("options", "/x"),
            ("head", "/x"),
            ("any", "/*"),
        ],
        id="methods-in-order-any-last",
    ),
    pytest.param(
        [("get", "/a"), ("get", "/a/b/c"), ("get", "/a/b")],
        [("get", "/a/b/c"), ("get", "/a/b"), ("get", "/a")],
        id="deeper-first",
    ),
    pytest.param(
        [("get", "/:x/b"), ("get", "/a/b")],
        [("get", "/a/b"), ("get", "/:x/b")],
        id="static-beats-param-at-same-position",
    ),
    pytest.param(
        [("get", "/:x/b/c"), ("get", "/a/:y/c")],
        [("get", "/a/:y/c"), ("get", "/:x/b/c")],
        id="later-param-is-more-specific",
    ),
    pytest.param(
        [("get", "/notes/:id"), ("get", "/notes/new")],
        [("get", "/notes/new"), ("get", "/notes/:id")],
        id="trailing-param-after-static",
    ),
    pytest.param(
        [("get", "/notes/*"), ("get", "/notes/:id")],
        [("get", "/notes/:id"), ("get", "/notes/*")],
        id="trailing-param-beats-catchall",
    ),
    pytest.param(
        [("get", "/*"), ("get", "/:x"), ("get", "/")],
        [("get", "/"), ("get", "/:x"), ("get", "/*")],
        id="root-above-one-part-captures",
    ),
    pytest.param(
        [("get", "/"), ("get", "/about")],
        [("get", "/about"), ("get", "/")],
        id="root-below-a-static-part",
    ),
    pytest.param(
        [("get", "/b"), ("get", "/c"), ("get", "/a")],
        [("get", "/a"), ("get", "/b"), ("get", "/c")],
        id="alphabetical-otherwise",
    ),
    pytest.param(
        [("get", "/a/*"), ("get", "/a/b/:c")],
        [("get", "/a/b/:c"), ("get", "/a/*")],
        id="deeper-capture-before-shallower",
    ),
]


@pytest.mark.parametrize(("routes", "expected"), ORDER_CASES)
def test_sort_routes_architect_order(routes: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    assert sort_routes(routes) == expected


def test_sort_routes_does_not_depend_on_input_order() -> None:
    routes = [
        ("get", "/"),
        ("get", "/*"),
        ("get", "/:a"),
        ("get", "/a"),
        ("get", "/a/:b"),
        ("get", "/a/b"),
        ("get", "/a/*"),
        ("get", "/:a/b"),
        ("post", "/a"),
        ("any", "/*"),
        ("any", "/a"),
    ]
    expected = [
        ("get", "/a/b"),
        ("get", "/:a/b"),
        ("get", "/a/:b"),
        ("get", "/a/*"),
        ("get", "/a"),
        ("get", "/"),
        ("get", "/:a"),
        ("get", "/*"),
        ("post", "/a"),
        ("any", "/a"),
        ("any", "/*"),
    ]
    shuffler = random.Random(7)
    for _ in range(20):
        shuffled = routes[:]
        shuffler.shuffle(shuffled)
        assert sort_routes(shuffled) == expected


@pytest.mark.parametrize(
    ("method", "path", "problem"),
    [
        pytest.param(
            "fetch",
            "/",
            "unknown HTTP method 'fetch' (use one of: get post put patch delete options head any)",
            id="method",
        ),
        pytest.param("get", "notes", "route path 'notes' must start with /", id="no-leading-slash"),
        pytest.param("get", "/notes/", "route path '/notes/' must not end with /", id="trailing-slash"),
        pytest.param("get", "/a//b", "route path '/a//b' must not contain //", id="double-slash"),
        pytest.param(
            "get", "/a?b", "route path '/a?b' has characters other than letters, digits and / - : . _ *", id="bad-char"
        ),
        pytest.param("get", "/a-", "route path '/a-': a part must not end with -, . or _ ('a-')", id="ends-dash"),
        pytest.param("get", "/a./b", "route path '/a./b': a part must not end with -, . or _ ('a.')", id="ends-dot"),
        pytest.param(
            "get",
            "/a/b:c",
            "route path '/a/b:c': bad parameter 'b:c' (a whole part :name, with letters, digits, _ . -)",
            id="param-mid-part",
        ),
        pytest.param(
            "get",
            "/a/:",
            "route path '/a/:': bad parameter ':' (a whole part :name, with letters, digits, _ . -)",
            id="empty-param",
        ),
        pytest.param(
            "get", "/*/a", "route path '/*/a': * is only allowed as the whole last part (/*)", id="catchall-not-last"
        ),
        pytest.param(
            "get", "/a*", "route path '/a*': * is only allowed as the whole last part (/*)", id="star-in-part"
        ),
        pytest.param("get", "/", None, id="root-ok"),
        pytest.param("any", "/a/:b.c/*", None, id="param-with-dot-ok"),
    ],
)
def test_route_problem(method: str, path: str, problem: str | None) -> None:
    assert route_problem(method, path) == problem
