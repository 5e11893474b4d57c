"""The reference client's server and the CORS settings, without a browser: security headers,
/config.json, problem+json 404s, and which origins the services let in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from clochette.web.server import PAGE_PATHS, STATIC, create_app
from shared.cors import cors_config, with_cors
from shared.settings import ConfigurationError, Settings, load_settings, origin_of

WEB = "http://localhost:3000"
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - a value under test, nothing binds to it


def settings(**env: str) -> Settings:
    return Settings(**env)  # type: ignore[arg-type]  # aliases, as in the environment


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    app = create_app(
        settings(
            WEB_AUTH_URL="https://auth.example.be/",
            WEB_NOTIFIER_URL="https://bell.example.be",
            WEB_APP_BASE_URL="https://app.example.be",
        )
    )
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_path_serves_the_single_page(client: TestClient[Litestar], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in response.text
    # No inline script or style: the CSP forbids both.
    assert "<script>" not in response.text
    assert " style=" not in response.text


def test_every_answer_carries_the_security_headers(client: TestClient[Litestar]) -> None:
    for path in ("/", "/static/app.js", "/config.json", "/no/such/page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
        assert "require-trusted-types-for 'script'" in csp
        assert "connect-src 'self' https://auth.example.be https://bell.example.be" in csp
        assert "unsafe" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["strict-transport-security"].startswith("max-age=")


def test_config_tells_the_client_where_the_services_are(client: TestClient[Litestar]) -> None:
    response = client.get("/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "auth_url": "https://auth.example.be",
        "notifier_url": "https://bell.example.be",
        "languages": ["nl", "fr", "en", "de"],
    }


def test_static_files_have_their_types_and_are_revalidated(client: TestClient[Litestar]) -> None:
    for name, media_type in [
        ("app.js", "text/javascript"),
        ("i18n.js", "text/javascript"),
        ("styles.css", "text/css"),
        ("bell.svg", "image/svg+xml"),
    ]:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media_type), name
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers.get("etag") or response.headers.get("last-modified")


@pytest.mark.parametrize("path", ["/nope", "/static/nope.js", "/static/../server.py"])
def test_unknown_paths_are_problem_json_404s(client: TestClient[Litestar], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://clochette.dev/problems/not-found"
    assert "def " not in response.text


def test_without_public_urls_the_client_uses_the_listeners() -> None:
    config = settings(AUTH_HOST=ANY_ADDRESS, AUTH_PORT="9001", NOTIFIER_PORT="9002")
    assert config.public_auth_url == "http://127.0.0.1:9001"
    assert config.public_notifier_url == "http://127.0.0.1:9002"
    # The default web app is http://localhost:3000 (passkeys need a domain); it binds 127.0.0.1.
    assert config.web_app_base_url == WEB
    assert config.web_listen == ("127.0.0.1", 3000)
    assert settings(WEB_HOST=ANY_ADDRESS).web_listen == (ANY_ADDRESS, 3000)
    assert settings(WEB_APP_BASE_URL="https://app.example.be/").web_listen[1] == 443


def test_cors_origins_default_to_the_web_app_and_are_normalised() -> None:
    assert settings().cors_origins == [WEB]
    assert settings(WEB_APP_BASE_URL="https://App.Example.be:443/path").cors_origins == [
        "https://app.example.be"
    ]
    configured = settings(CORS_ALLOWED_ORIGINS="https://a.example.be/, http://localhost:3000 ,")
    assert configured.cors_origins == ["https://a.example.be", "http://localhost:3000"]
    assert origin_of("http://[::1]:3000/x") == "http://[::1]:3000"


def test_a_cors_origin_that_is_not_a_url_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "app.example.be")
    with pytest.raises(ConfigurationError, match="not an http"):
        load_settings()


@get("/v1/notifications/unread-count")
async def unread_count() -> dict[str, int]:
    return {"unread_count": 0}


def notifier_like_app(config: Settings) -> Litestar:
    cors = cors_config(
        config,
        methods=["GET", "POST"],
        allow_headers=["If-None-Match"],
        expose_headers=["ETag", "X-Poll-Interval"],
    )
    return Litestar([unread_count], on_app_init=[with_cors(cors)])


def test_an_allowed_origin_gets_the_cors_headers() -> None:
    with TestClient(notifier_like_app(settings())) as client:
        preflight = client.options(
            "/v1/notifications/unread-count",
            headers={
                "Origin": WEB,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization, if-none-match",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == WEB
        assert "if-none-match" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers
        response = client.get("/v1/notifications/unread-count", headers={"Origin": WEB})
        assert response.headers["access-control-allow-origin"] == WEB
        exposed = response.headers["access-control-expose-headers"]
        assert "ETag" in exposed
        assert "X-Poll-Interval" in exposed


def test_another_origin_gets_no_cors_headers() -> None:
    with TestClient(notifier_like_app(settings())) as client:
        response = client.get(
            "/v1/notifications/unread-count", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in response.headers
        preflight = client.options(
            "/v1/notifications/unread-count",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_every_string_of_the_page_exists_in_all_four_languages() -> None:
    source = (STATIC / "i18n.js").read_text()
    blocks = re.split(r"^  (nl|fr|en|de): \{$", source, flags=re.MULTILINE)[1:]
    # The strings come in blocks (the page's, then the Security section's), merged per language.
    keys: dict[str, set[str]] = {}
    for language, body in zip(blocks[::2], blocks[1::2], strict=True):
        keys.setdefault(language, set()).update(re.findall(r"^    (\w+):", body, flags=re.M))
    assert set(keys) == {"nl", "fr", "en", "de"}
    assert keys["nl"] == keys["fr"] == keys["de"] == keys["en"]
    page = (STATIC / "index.html").read_text()
    used = set(re.findall(r'data-i18n(?:-[a-z-]+)?="(\w+)"', page))
    names = ("app.js", "bell.js", "settings.js", "security.js", "passkeys.js", "dom.js")
    scripts = "".join((STATIC / name).read_text() for name in names)
    used |= set(re.findall(r'\bt\("(\w+)"', scripts))
    assert used <= keys["en"], used - keys["en"]


def test_the_other_loopback_name_is_sent_to_the_configured_origin() -> None:
    with TestClient(create_app(settings())) as client:
        response = client.get(
            "/settings?x=1", headers={"Host": "127.0.0.1:3000"}, follow_redirects=False
        )
        assert response.status_code == 308
        assert response.headers["location"] == "http://localhost:3000/settings?x=1"
        assert "content-security-policy" in response.headers
        same = client.get("/", headers={"Host": "localhost:3000"}, follow_redirects=False)
        assert same.status_code == 200
        elsewhere = client.get("/", headers={"Host": "evil.example"}, follow_redirects=False)
        assert elsewhere.status_code == 200
    # A WEB_APP_BASE_URL under 127.0.0.1 gets the other direction.
    app = create_app(settings(WEB_APP_BASE_URL="http://127.0.0.1:3000"))
    with TestClient(app) as client:
        response = client.get("/login", headers={"Host": "localhost:3000"}, follow_redirects=False)
        assert response.status_code == 308
        assert response.headers["location"] == "http://127.0.0.1:3000/login"
    public = create_app(settings(WEB_APP_BASE_URL="https://app.example.be"))
    with TestClient(public) as client:
        local = client.get("/", headers={"Host": "localhost:8080"}, follow_redirects=False)
        assert local.status_code == 200
