"""Forms of the server-rendered pages. They parse and present; the services decide."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator

from zkproofs.competition import DEFAULT_BUDGET

from .models import User
from .services.competitions import (
    MAX_BUDGET_SECONDS,
    CompetitionInput,
    default_budget_proof_bytes,
    max_budget_proof_bytes,
)


class SignUpForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError("the two passwords differ")
        return data


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise forms.ValidationError("write the shape as integers, e.g. 64 or 1,28,28") from None
    if not dims:
        raise forms.ValidationError("give at least one dimension")
    return dims


UTC_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
UTC_HELP = "UTC, 24-hour clock: YYYY-MM-DD HH:MM, e.g. 2030-01-31 12:00"


BUDGET_FIELDS = ("max_prove_seconds", "max_verify_seconds", "max_proof_bytes")


class CompetitionForm(forms.Form):
    slug = forms.SlugField(max_length=64, help_text="Used in URLs; cannot change later.")
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea, required=False, label="Overview",
        help_text="Markdown: the task, the prizes, anything a competitor reads first.",
    )
    rules = forms.CharField(widget=forms.Textarea, required=False, help_text="Markdown.")
    data_description = forms.CharField(
        widget=forms.Textarea, required=False, label="Data description",
        help_text="Markdown: what the training data and the test set hold, their columns "
        "and how the inputs were made integers.",
    )
    data_licence = forms.CharField(
        max_length=200, required=False, label="Data licence", help_text="e.g. CC BY 4.0"
    )
    input_shape = forms.CharField(help_text="Per-sample shape, e.g. 64 or 1,28,28")
    input_min = forms.IntegerField(initial=0, help_text="The lowest integer an input may hold.")
    input_max = forms.IntegerField(
        initial=255, help_text="The highest integer an input may hold."
    )
    input_scale = forms.IntegerField(
        min_value=1, initial=1,
        help_text="Integer steps per unit of the real input: a real value v is published as "
        "round(v × scale). Pixels in [0, 1] with scale 255 become integers 0…255; data that "
        "are integers already use scale 1. Competitors' models see x / scale.",
    )
    num_classes = forms.IntegerField(min_value=2)
    threshold = forms.CharField(max_length=64, help_text="Exact: '9/10' or '0.9'")
    max_parameters = forms.IntegerField(min_value=1, initial=100_000)
    max_layers = forms.IntegerField(min_value=1, required=False)
    commitment_cap = forms.IntegerField(min_value=1, initial=3)
    submission_limit = forms.IntegerField(min_value=1, initial=5)
    # The budget: what a committed architecture may cost at the test set's N, estimated
    # from its proof schedule (README, "The budget").
    max_prove_seconds = forms.IntegerField(
        label="Budget: seconds to prove", min_value=1, max_value=MAX_BUDGET_SECONDS,
        required=False, initial=DEFAULT_BUDGET.prove_seconds,
        help_text="A model whose proof is estimated to take longer on the test set (on the "
        "reference machine: 2 cores) is refused at commit.",
    )
    max_verify_seconds = forms.IntegerField(
        label="Budget: seconds to verify", min_value=1, max_value=MAX_BUDGET_SECONDS,
        required=False, initial=DEFAULT_BUDGET.verify_seconds,
        help_text="… longer to verify (what every verification of a submission costs).",
    )
    max_proof_bytes = forms.IntegerField(
        label="Budget: proof bytes", min_value=1, required=False,
        help_text="… a larger proof (the size is exact, not an estimate).",
    )
    # Plain text, not the browser's date picker: that shows the visitor's local time (and
    # AM/PM), while the site's times are UTC.
    reveal_at = forms.DateTimeField(
        label="Reveal (UTC)", input_formats=UTC_FORMATS,
        help_text="Commitments close and the test set is published. " + UTC_HELP,
        widget=forms.TextInput(attrs={"placeholder": "2030-01-31 12:00", "inputmode": "numeric"}),
    )
    proof_deadline = forms.DateTimeField(
        label="Proof deadline (UTC)", input_formats=UTC_FORMATS,
        help_text="Proofs close; the leaderboard is final. " + UTC_HELP,
        widget=forms.TextInput(attrs={"placeholder": "2030-02-07 12:00", "inputmode": "numeric"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The site's upload limit bounds the proof-size budget (settings.MAX_PROOF_BYTES).
        field = self.fields["max_proof_bytes"]
        field.initial = default_budget_proof_bytes()
        field.max_value = max_budget_proof_bytes()
        field.widget.attrs["max"] = field.max_value
        field.validators.append(MaxValueValidator(field.max_value))

    def clean_input_shape(self):
        return _shape(self.cleaned_data["input_shape"])

    def to_input(self) -> CompetitionInput:
        data = dict(self.cleaned_data)
        for name in BUDGET_FIELDS:  # left empty: the default budget
            if data.get(name) is None:
                data.pop(name, None)
        return CompetitionInput(**data)


class TestSetForm(forms.Form):
    file = forms.FileField(help_text=".npz (integer arrays x and y) or .csv (label, features)")
    sha256 = forms.CharField(
        required=False, max_length=64, label="SHA-256 (optional)",
        help_text="The upload is refused if the file's SHA-256 differs.",
    )  # fmt: skip


class DataFileForm(forms.Form):
    file = forms.FileField(help_text="Training data, a baseline, a sample: any format.")
    name = forms.CharField(
        max_length=128, required=False,
        help_text="The name people download (default: the file's own); letters, digits, . - _",
    )
    description = forms.CharField(max_length=500, required=False)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["email", "email_notifications"]
        labels = {"email_notifications": "E-mail notifications"}
