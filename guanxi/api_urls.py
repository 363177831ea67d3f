"""URLs of the REST API (included at /api/v1/).

The API answers 401 JSON itself, so its operations are exempt from the site-wide
``LoginRequiredMiddleware`` (which would redirect to the login page). The OpenAPI
document is public too: it holds no data and code generators fetch it without a session.
The interactive docs page stays behind the login: it is for people in the browser.
"""

from django.urls import URLPattern, URLResolver

from guanxi.api import api

_patterns, _ninja_app_name, _namespace = api.urls

_LOGIN_REQUIRED = {"openapi-view"}


def _exempt(patterns: list[URLPattern | URLResolver]) -> None:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _exempt(pattern.url_patterns)
        elif pattern.name not in _LOGIN_REQUIRED:
            pattern.callback.login_required = False  # type: ignore[attr-defined]


_exempt(_patterns)

app_name = _namespace  # "api": what NinjaAPI reverses its root URL with
urlpatterns: list[URLPattern | URLResolver] = _patterns
