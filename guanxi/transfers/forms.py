"""Forms of the import pages: the upload, and the column mapping with the options."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.transfers.fields import fields_for
from guanxi.transfers.models import ImportJob, Kind


class ImportUploadForm(forms.Form):
    """The file and what it holds; ``kinds`` limits the choice to what the user may import."""

    kind = forms.ChoiceField(label=_("Import"), choices=Kind.choices, initial=Kind.CUSTOMERS)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8 or GB18030), Excel .xlsx, or vCard .vcf for contacts. "
            "The first row holds the column names."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.vcf"}),
    )

    def __init__(self, *args: object, kinds: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if kinds is not None:
            field = self.fields["kind"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(value, label) for value, label in Kind.choices if value in kinds]


class ImportMappingForm(forms.Form):
    """One select per column of the file, then what to do with duplicates and errors."""

    duplicate_mode = forms.ChoiceField(
        label=_("When a record already exists"),
        choices=ImportJob.DuplicateMode.choices,
        widget=forms.RadioSelect,
    )
    all_or_nothing = forms.BooleanField(
        label=_("Import nothing if any row has an error"), required=False
    )

    def __init__(self, job: ImportJob, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.job = job
        choices = [("", _("— ignore this column —"))] + [
            (f.key, f.label) for f in fields_for(job.kind)
        ]
        self.columns: list[tuple[int, str, str]] = []
        for index, header in enumerate(job.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=job.mapping[index] if index < len(job.mapping) else "",
            )
            self.columns.append((index, header, name))
        self.fields["duplicate_mode"].initial = job.duplicate_mode
        self.fields["all_or_nothing"].initial = job.all_or_nothing

    def column_fields(self) -> list[forms.BoundField]:
        return [self[name] for _i, _h, name in self.columns]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(name) or "" for _i, _h, name in self.columns]
