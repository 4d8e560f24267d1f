"""Forms of the server-rendered pages. They parse and present; the services decide."""

from __future__ import annotations

from django import forms

from .services.competitions import CompetitionInput


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


class CompetitionForm(forms.Form):
    slug = forms.SlugField(max_length=64, help_text="Used in URLs; cannot change later.")
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea, required=False, label="Rules")
    input_shape = forms.CharField(help_text="Per-sample shape, e.g. 64 or 1,28,28")
    input_min = forms.IntegerField(initial=0)
    input_max = forms.IntegerField(initial=255)
    input_scale = forms.IntegerField(min_value=1, initial=1)
    num_classes = forms.IntegerField(min_value=2)
    threshold = forms.CharField(max_length=64, help_text="Exact: '9/10' or '0.9'")
    max_parameters = forms.IntegerField(min_value=1, initial=100_000)
    max_layers = forms.IntegerField(min_value=1, required=False)
    commitment_cap = forms.IntegerField(min_value=1, initial=3)
    submission_limit = forms.IntegerField(min_value=1, initial=5)
    reveal_at = forms.DateTimeField(
        help_text="UTC, e.g. 2030-01-31 12:00",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    proof_deadline = forms.DateTimeField(
        help_text="UTC", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_input_shape(self):
        return _shape(self.cleaned_data["input_shape"])

    def to_input(self) -> CompetitionInput:
        return CompetitionInput(**self.cleaned_data)


class TestSetForm(forms.Form):
    file = forms.FileField(help_text=".npz (integer arrays x and y) or .csv (label, features)")
    sha256 = forms.CharField(
        required=False, max_length=64, label="SHA-256 (optional)",
        help_text="The upload is refused if the file's SHA-256 differs.",
    )  # fmt: skip
