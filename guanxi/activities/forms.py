from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.activities.models import FollowUp

_LOCAL_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _tomorrow_ten() -> str:
    local = timezone.localtime() + timedelta(days=1)
    return local.replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M")


class PlanForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=FollowUp.Method.choices)
    due_at = forms.DateTimeField(label=_("When"), widget=_LOCAL_INPUT)
    plan = forms.CharField(label=_("Purpose"), max_length=300, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["due_at"].initial = _tomorrow_ten


class RecordForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=FollowUp.Method.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUp.Outcome.choices)
    summary = forms.CharField(
        label=_("What happened"), max_length=4000, required=False, widget=forms.Textarea
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=0, max_value=24 * 60, required=False
    )


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUp.Outcome.choices)
    summary = forms.CharField(
        label=_("What happened"), max_length=4000, required=False, widget=forms.Textarea
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=0, max_value=24 * 60, required=False
    )
    next_due_at = forms.DateTimeField(
        label=_("Next follow-up"),
        widget=_LOCAL_INPUT,
        required=False,
        help_text=_("Plan the next one now, so the customer is not forgotten."),
    )
    next_method = forms.ChoiceField(
        label=_("Next method"), choices=FollowUp.Method.choices, required=False
    )
    next_plan = forms.CharField(label=_("Next purpose"), max_length=300, required=False)

    def clean_next_due_at(self) -> datetime | None:
        value = self.cleaned_data.get("next_due_at")
        if value is not None and value < timezone.now() - timedelta(minutes=5):
            raise forms.ValidationError(_("The next follow-up must be in the future."))
        return value
