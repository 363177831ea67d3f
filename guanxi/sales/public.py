"""The public web-to-lead form (``/f/<key>/``): no login, embeddable in other sites.

Abuse protection without CAPTCHAs from outside services: a hidden honeypot field, a signed
timestamp (a human takes more than a few seconds; a stale page must be reloaded), and a
per-address rate limit in the cache. Bots are answered as if they had succeeded, so they
learn nothing; humans see what to fix.
"""

import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from guanxi.sales.models import Lead, WebForm
from guanxi.sales.services import lead_create

MIN_SECONDS = 3  # faster than this is a script
MAX_AGE = 24 * 3600  # an older page is reloaded
RATE_WINDOW = 600  # seconds
_SALT = "guanxi.sales.webform"


class PublicLeadForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=100)
    company = forms.CharField(label=gettext_lazy("Company"), max_length=200, required=False)
    mobile = forms.CharField(label=gettext_lazy("Mobile"), max_length=30, required=False)
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    province = forms.CharField(label=gettext_lazy("Province"), max_length=32, required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=32, required=False)
    message = forms.CharField(
        label=gettext_lazy("Message"), max_length=2000, required=False, widget=forms.Textarea
    )
    consent = forms.BooleanField(label="", required=True)
    # Honeypot: hidden from people by CSS; bots fill every field.
    website = forms.CharField(required=False)
    started = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, web_form: WebForm, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        self.fields["consent"].label = web_form.consent_text
        self.fields["consent"].error_messages["required"] = _(
            "Please tick the box to agree before sending."
        )
        for flag, names in (
            ("ask_company", ["company"]),
            ("ask_email", ["email"]),
            ("ask_region", ["province", "city"]),
            ("ask_message", ["message"]),
        ):
            if not getattr(web_form, flag):
                for name in names:
                    del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("mobile") and not data.get("email"):
            raise ValidationError(
                {"mobile": _("Leave a mobile number or an e-mail address so we can reply.")}
                if "email" in self.fields
                else {"mobile": _("Leave a mobile number so we can reply.")}
            )
        return data


def _token(web_form: WebForm) -> str:
    return signing.dumps({"k": web_form.key, "t": time.time()}, salt=_SALT)


def _age(web_form: WebForm, token: str) -> float | None:
    """Seconds since the page was served, or None when the token is forged or stale."""
    try:
        value = signing.loads(token, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("k") != web_form.key:
        return None
    started = value.get("t")
    return time.time() - started if isinstance(started, float | int) else None


def _over_limit(request: HttpRequest, web_form: WebForm) -> bool:
    address = request.META.get("REMOTE_ADDR", "")
    key = f"guanxi:webform:{web_form.pk}:{address}"
    cache.add(key, 0, RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW)
        count = 1
    return count > settings.WEB_FORM_SUBMISSIONS_PER_10_MINUTES


@login_not_required
@csrf_exempt  # embedded on other sites; the signed timestamp and the honeypot stand in
@xframe_options_exempt
def web_form(request: HttpRequest, key: str) -> HttpResponse:
    form_obj = get_object_or_404(WebForm, key=key, is_active=True)
    context: dict = {"web_form": form_obj}
    if request.method != "POST":
        form = PublicLeadForm(initial={"started": _token(form_obj)}, web_form=form_obj)
        return render(request, "sales/public_form.html", {**context, "form": form})
    form = PublicLeadForm(request.POST, web_form=form_obj)
    age = _age(form_obj, request.POST.get("started", ""))
    if request.POST.get("website") or (age is not None and age < MIN_SECONDS):
        return render(request, "sales/public_thanks.html", context)  # a bot: say nothing
    if _over_limit(request, form_obj):
        context["error"] = _("Too many submissions from your address; please try again later.")
        return render(request, "sales/public_form.html", {**context, "form": form}, status=429)
    if age is None:
        resend = request.POST.copy()
        resend["started"] = _token(form_obj)
        fresh = PublicLeadForm(resend, web_form=form_obj)
        context["error"] = _("This page was open too long; please check and send it again.")
        return render(request, "sales/public_form.html", {**context, "form": fresh}, status=400)
    if form.is_valid():
        data = form.cleaned_data
        try:
            lead_create(
                actor=None,
                data={
                    "name": data["name"],
                    "company": data.get("company", ""),
                    "mobile": data.get("mobile", ""),
                    "email": data.get("email", ""),
                    "province": data.get("province", ""),
                    "city": data.get("city", ""),
                    "notes": data.get("message", ""),
                    "channel": form_obj.channel,
                    "campaign": form_obj.campaign,
                    "owner": form_obj.owner
                    if form_obj.owner and form_obj.owner.is_active
                    else None,
                    "consent": True,
                },
                source=Lead.Source.FORM,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return render(request, "sales/public_thanks.html", context)
    return render(request, "sales/public_form.html", {**context, "form": form}, status=400)
