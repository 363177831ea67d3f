from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from guanxi.users.models import User
from guanxi.users.services import user_is_locked


class LoginForm(AuthenticationForm):
    """Refuses a locked account before checking the password, so that guessing stops."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username:
            user = User.objects.filter(username__iexact=username).first()
            if user is not None and user_is_locked(user):
                raise forms.ValidationError(
                    _("Too many failed logins. This account is locked for %(minutes)d minutes.")
                    % {"minutes": settings.LOGIN_LOCKOUT_MINUTES},
                    code="locked",
                )
        return super().clean()


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "email", "mobile", "language", "time_zone"]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “ERP sync”."),
    )


class HandoverForm(forms.Form):
    from_user = forms.ModelChoiceField(
        label=_("Departing user"),
        queryset=User.objects.order_by("username"),
        # Choosing the user shows how many customers would move (htmx, before posting).
        widget=forms.Select(
            attrs={
                "hx-get": "",
                "hx-trigger": "change",
                "hx-target": "#owned-count",
                "hx-select": "#owned-count",
                "hx-swap": "outerHTML",
            }
        ),
    )
    to_users = forms.ModelMultipleChoiceField(
        label=_("Hand over to"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
        help_text=_("Several colleagues share the customers in turn."),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    deactivate = forms.BooleanField(label=_("Deactivate the departing user"), required=False)

    def clean(self):
        data = super().clean() or {}
        if data.get("from_user") and data.get("to_users") and data["from_user"] in data["to_users"]:
            self.add_error("to_users", _("A user cannot hand over to themselves."))
        return data
