from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.activities.models import FollowUp
from guanxi.customers.models import Contact, Customer
from guanxi.sales.models import Lead, Opportunity
from guanxi.users.models import User

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


# --- meetings ---------------------------------------------------------------------------------

PICKER_LIMIT = 300


class MeetingForm(forms.Form):
    """A meeting as the organiser sees it. The service checks the times, the links and the
    attendees; its errors land on these fields (named as in the API)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    start = forms.DateTimeField(label=_("Start"), widget=_LOCAL_INPUT)
    end = forms.DateTimeField(label=_("End"), widget=_LOCAL_INPUT)
    all_day = forms.BooleanField(
        label=_("All day"),
        required=False,
        help_text=_("From the start day to the end day, whole days."),
    )
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), max_length=4000, required=False, widget=forms.Textarea
    )
    customer = forms.ModelChoiceField(
        label=_("Customer"), queryset=Customer.objects.none(), required=False, empty_label=_("None")
    )
    opportunity = forms.ModelChoiceField(
        label=_("Opportunity"),
        queryset=Opportunity.objects.none(),
        required=False,
        empty_label=_("None"),
    )
    lead = forms.ModelChoiceField(
        queryset=Lead.objects.none(), required=False, widget=forms.HiddenInput
    )
    attendees = forms.ModelMultipleChoiceField(
        label=_("Colleagues"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )
    contacts = forms.ModelMultipleChoiceField(
        label=_("Customer contacts"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Contacts of the customer; those with an e-mail address get the invitation."),
    )
    no_double_booking = forms.BooleanField(
        label=_("Do not allow double booking"),
        required=False,
        help_text=_("Refuse the meeting when someone is already booked, and later ones too."),
    )
    allow_conflicts = forms.BooleanField(
        label=_("Save anyway, although someone is already booked"), required=False
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        customer_id: int | None = None,
        selected_ids: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        from django.urls import reverse

        from guanxi.customers.access import contacts_visible_to, customers_visible_to
        from guanxi.sales.access import leads_visible_to, opportunities_visible_to
        from guanxi.users.roles import PARTNER

        super().__init__(*args, **kwargs)
        self.user = user
        customers = customers_visible_to(user)
        opportunities = opportunities_visible_to(user)
        colleagues = User.objects.filter(is_active=True).exclude(groups__name=PARTNER)
        contacts = contacts_visible_to(user).filter(links__customer_id=customer_id or 0)
        self._field("customer").queryset = customers
        self._field("opportunity").queryset = opportunities
        self._field("lead").queryset = leads_visible_to(user)
        self._field("attendees").queryset = colleagues
        self._field("contacts").queryset = contacts
        # The pickers offer a bounded choice: the user's own customers (and the one linked),
        # colleagues team by team, and the contacts and opportunities of the customer.
        own = list(
            customers.filter(Q(owner=user) | Q(pk=customer_id or 0))
            .order_by("name")
            .values_list("pk", "name")[:PICKER_LIMIT]
        )
        self.fields["customer"].widget.choices = [("", _("None")), *own]
        self.fields["customer"].widget.attrs.update(
            {
                "hx-get": reverse("calendar:meeting-form-parts"),
                "hx-trigger": "change",
                "hx-target": "#customer-parts",
                "hx-swap": "outerHTML",
            }
        )
        people = list(
            colleagues.filter(Q(team_id=user.team_id or 0) | Q(pk__in=selected_ids or []))
            .exclude(pk=user.pk)
            .order_by("username")[:PICKER_LIMIT]
        )
        people += list(
            colleagues.exclude(team_id=user.team_id or 0)
            .exclude(pk__in=[u.pk for u in people] + [user.pk])
            .order_by("team__path", "username")[: max(0, PICKER_LIMIT - len(people))]
        )
        self.fields["attendees"].widget.choices = [(u.pk, str(u)) for u in people]
        self.fields["opportunity"].widget.choices = [
            ("", _("None")),
            *opportunities.filter(customer_id=customer_id or 0)
            .order_by("name")
            .values_list("pk", "name")[:PICKER_LIMIT],
        ]
        self.fields["contacts"].widget.choices = [
            (c.pk, str(c)) for c in contacts.order_by("name")[:PICKER_LIMIT]
        ]

    def _field(self, name: str) -> Any:
        return self.fields[name]

    def service_data(self) -> dict[str, Any]:
        """The cleaned values as ``meeting_create`` / ``meeting_update`` take them."""
        data = dict(self.cleaned_data)
        data.pop("allow_conflicts", None)
        data["attendees"] = list(data.get("attendees") or [])
        data["contacts"] = list(data.get("contacts") or [])
        return data


class CancelMeetingForm(forms.Form):
    reason = forms.CharField(label=_("Why (optional)"), max_length=500, required=False)


# --- call lists -----------------------------------------------------------------------------------


class CallListForm(forms.Form):
    """Name the list, pick customers as on the customer list, choose who calls."""

    name = forms.CharField(label=_("Name"), max_length=200)
    assignees = forms.ModelMultipleChoiceField(
        label=_("Who calls"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The contacts are shared among them in turn."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        from guanxi.activities.access import call_list_assignable

        super().__init__(*args, **kwargs)
        self.fields["assignees"].queryset = call_list_assignable(user).order_by(  # type: ignore[attr-defined]
            "username"
        )


class LogCallForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUp.Outcome.choices)
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=0, max_value=24 * 60, required=False
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea
    )
    next_due_at = forms.DateTimeField(
        label=_("Next follow-up"),
        widget=_LOCAL_INPUT,
        required=False,
        help_text=_("Optional: plan the next step with this customer."),
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
