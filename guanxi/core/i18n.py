"""Strings Django itself shows that its own zh-Hans catalogue does not translate yet.

Marked here so that ``makemessages`` puts them in our catalogue, which Django consults
first (``LOCALE_PATHS``).
"""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = [
    gettext_noop("- Select an option -"),
    gettext_noop(":"),
]
