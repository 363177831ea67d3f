import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english(client):
    """Messages are asserted in English (the source language), in services and on pages."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
