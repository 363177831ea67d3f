from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

DATE = forms.DateInput(attrs={"type": "date"})


class PeriodForm(forms.Form):
    GROUPINGS = [("rep", _("Rep")), ("team", _("Team")), ("department", _("Department"))]

    start = forms.DateField(label=_("from"), widget=DATE, required=False)
    end = forms.DateField(label=_("to"), widget=DATE, required=False)
    grouping = forms.ChoiceField(label=_("per"), choices=GROUPINGS, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end is before the start."))
            elif (end - start).days > 3 * 366:
                self.add_error("end", _("Choose a period of at most three years."))
        return data
