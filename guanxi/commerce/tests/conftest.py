import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english(client, settings):
    """Messages are asserted in English (the source language): in services, on pages and
    in API answers (which follow LANGUAGE_CODE when no Accept-Language is sent)."""
    settings.LANGUAGE_CODE = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
