"""Per-user language and time zone."""

import zoneinfo

from django.utils import timezone, translation


class UserLanguageMiddleware:
    """Pick the language: the user's setting, else the session/cookie, else the browser's
    Accept-Language, else zh-Hans. Runs before authentication, so it reads the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = translation.get_language_from_request(request)
        language = request.session.get("guanxi_language") or language
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        translation.deactivate()
        return response


class UserTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if user.language and request.session.get("guanxi_language") != user.language:
                request.session["guanxi_language"] = user.language
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        else:
            timezone.deactivate()
        return self.get_response(request)
