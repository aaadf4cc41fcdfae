"""Forms of the IP registry."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from market.formkit import choices
from market.ip.labels import KIND_LABELS, STATUS_LABELS
from market.ip.models import IpKind, LegalStatus
from market.ip.numbers import format_application_number
from market.ip.service import AssetData


class AssetForm(FlaskForm):
    kind = SelectField(_l("Kind of IP"), choices=choices([(k.value, v) for k, v in KIND_LABELS.items()]),
                       validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    application_number = StringField(_l("Application number"), validators=[Optional(), Length(max=30)],
                                     description=_l("e.g. CN201710106452.1 (the check digit is verified)"))
    publication_number = StringField(_l("Publication number"), validators=[Optional(), Length(max=20)],
                                     description=_l("e.g. CN114081026A"))
    registration_number = StringField(_l("Registration number"), validators=[Optional(), Length(max=40)],
                                      description=_l("Trademarks, copyrights, IC layout designs"))
    ipc_codes = StringField(_l("IPC codes"), validators=[Optional(), Length(max=300)],
                            description=_l("Separated by spaces or commas, e.g. H01M H01M10/0525"))
    applicants = StringField(_l("Applicants / right holders"), validators=[Optional(), Length(max=500)])
    inventors = StringField(_l("Inventors"), validators=[Optional(), Length(max=500)])
    filing_date = DateField(_l("Filing date"), validators=[Optional()])
    grant_date = DateField(_l("Grant date"), validators=[Optional()])
    legal_status = SelectField(_l("Legal status"),
                               choices=choices([(k.value, v) for k, v in STATUS_LABELS.items()]),
                               validators=[DataRequired()])
    abstract = TextAreaField(_l("Abstract"), validators=[Optional(), Length(max=5000)])
    frozen = BooleanField(_l("Frozen (judicial freeze or dispute)"))
    submit = SubmitField(_l("Save"))

    def data_object(self) -> AssetData:
        codes = [c for c in (self.ipc_codes.data or "").replace(",", " ").replace("，", " ").split() if c]
        return AssetData(
            kind=IpKind(self.kind.data), title=self.title.data or "",
            application_number=(self.application_number.data or "").strip() or None,
            publication_number=(self.publication_number.data or "").strip() or None,
            registration_number=(self.registration_number.data or "").strip() or None,
            abstract=(self.abstract.data or "").strip() or None, ipc_codes=codes,
            applicants=(self.applicants.data or "").strip() or None,
            inventors=(self.inventors.data or "").strip() or None,
            filing_date=self.filing_date.data, grant_date=self.grant_date.data,
            legal_status=LegalStatus(self.legal_status.data), frozen=bool(self.frozen.data),
        )

    def fill(self, asset) -> None:
        self.kind.data = asset.kind.value
        self.title.data = asset.title
        self.application_number.data = format_application_number(asset.application_number)
        self.publication_number.data = asset.publication_number
        self.registration_number.data = asset.registration_number
        self.ipc_codes.data = " ".join(asset.ipc_codes or [])
        self.applicants.data = asset.applicants
        self.inventors.data = asset.inventors
        self.filing_date.data = asset.filing_date
        self.grant_date.data = asset.grant_date
        self.legal_status.data = asset.legal_status.value
        self.abstract.data = asset.abstract
        self.frozen.data = asset.frozen


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV or JSON Lines, UTF-8)"), validators=[FileRequired()])
    owner = SelectField(_l("Owner (optional)"), validators=[Optional()], validate_choice=True)
    submit = SubmitField(_l("Import"))


class SavedSearchForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    query = HiddenField()  # the search's query string
    submit = SubmitField(_l("Save this search"))
