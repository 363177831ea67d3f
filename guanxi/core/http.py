from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from guanxi.users.models import User


class HtmxHttpRequest(HttpRequest):
    """An HttpRequest as seen after django-htmx's middleware (for type checking)."""

    htmx: HtmxDetails


def request_user(request: HttpRequest) -> User:
    """The logged-in user of a page request (LoginRequiredMiddleware guarantees one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def form_add_errors(form: BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: each message on its field when the
    form has it, the rest above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
