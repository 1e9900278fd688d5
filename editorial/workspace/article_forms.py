"""The article's change form: its fields, the reference list, the stale-copy check, the list's pages."""

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.utils.safestring import mark_safe

from articles import content
from articles import provenance as machine
from articles.models import Article, Reference
from articles.rendering import markdown_problems
from editorial.workflow import permissions
from editorial.workflow.provenance import declaration

#: The form's fields for AI provenance, and the declaration's key each one fills.
AI_FIELDS = {
    "ai_tool": "tool",
    "ai_model": "model",
    "ai_model_version": "model_version",
    "ai_run_id": "run_id",
    "ai_generated_at": "generated_at",
    "ai_sections": "sections",
}


class ReferenceInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept and self.instance.pk and self.instance.status != "draft":
            raise forms.ValidationError("An article under review needs at least one reference.")


class ReferenceInline(admin.TabularInline):
    model = Reference
    formset = ReferenceInlineFormSet
    fields = ("position", "authors", "title", "source", "year", "doi", "pmid", "url", "look_up")
    readonly_fields = ("look_up",)
    ordering = ("position", "id")
    extra = 0
    max_num = content.MAX_REFERENCES  # each stays citable as [n]; the service refuses more too
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https", "widget": forms.URLInput(attrs={"size": 18})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 14})},
        models.PositiveIntegerField: {"widget": forms.NumberInput(attrs={"class": "reference-position"})},
        models.PositiveSmallIntegerField: {"widget": forms.NumberInput(attrs={"class": "reference-year"})},
    }
    verbose_name = "reference"
    verbose_name_plural = "References (numbered in this order: cite them as [1], [2] ...)"

    @admin.display(description="Look up")
    def look_up(self, obj=None):
        """The button that fills the row from its DOI or PMID (editorial/drafting.js does the asking)."""
        return mark_safe(  # noqa: S308 - a constant: no data of any kind
            '<button type="button" class="ref-lookup" hidden>Look up</button>'
            '<span class="ref-lookup-result" role="status"></span>'
        )

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def has_view_permission(self, request, obj=None):
        return obj is None or permissions.may_view_article(request.user, obj)

    def _may_edit(self, request, obj):
        if obj is None:
            return permissions.may_create_article(request.user)
        return permissions.may_edit_content(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj)


class ArticleForm(forms.ModelForm):
    seen_row_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**31 - 1)
    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=500,
        help_text="Kept in the article's history with your name.",
    )
    ai_assisted = forms.BooleanField(
        label="Drafted with AI assistance",
        required=False,
        help_text="Tick when a machine drafted part of this text: reviewers and readers are told, and the "
        "text as it stands when you declare it is kept as the machine draft.",
    )
    ai_tool = forms.CharField(label="Tool", required=False, max_length=machine.TOOL_LIMIT)
    ai_model = forms.CharField(label="Model", required=False, max_length=machine.MODEL_LIMIT)
    ai_model_version = forms.CharField(label="Model version", required=False, max_length=machine.MODEL_LIMIT)
    ai_run_id = forms.CharField(label="Run or prompt id", required=False, max_length=machine.RUN_ID_LIMIT)
    ai_generated_at = forms.DateTimeField(
        label="Drafted at", required=False, help_text="Leave empty for now. Your time zone's local time."
    )
    ai_sections = forms.MultipleChoiceField(
        label="Machine-drafted sections",
        required=False,
        choices=list(machine.SECTIONS.items()),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Article
        fields = ("title", "slug", "specialty", "summary", "body", "patient_body")
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(attrs={"rows": 18, "class": "vLargeTextField markdown"}),
            "patient_body": forms.Textarea(attrs={"rows": 12, "class": "vLargeTextField markdown"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Leave empty to make it from the question."
        if self.instance.pk and "seen_row_version" in self.fields:
            self.fields["seen_row_version"].initial = self.instance.row_version
        declared = declaration(self.instance) if self.instance.pk and "ai_assisted" in self.fields else None
        if declared is not None:
            self.fields["ai_assisted"].initial = True
            facts = {**declared.facts(), "generated_at": declared.generated_at}
            for field, key in AI_FIELDS.items():
                self.fields[field].initial = facts[key]

    @property
    def ai_changed(self) -> bool:
        """Whether the AI provenance part of the form was changed (only then is it declared again)."""
        return any(name == "ai_assisted" or name in AI_FIELDS for name in self.changed_data)

    def ai_declaration(self) -> dict | None:
        """The declaration the form asks for (None: no machine involved), from cleaned data."""
        if not self.cleaned_data.get("ai_assisted"):
            return None
        return {key: self.cleaned_data.get(field) for field, key in AI_FIELDS.items()}

    def _renderable(self, name: str) -> str:
        text = self.cleaned_data.get(name, "")
        problems = markdown_problems(text)
        if problems:
            raise forms.ValidationError(problems)
        return text

    def clean_body(self):
        return self._renderable("body")

    def clean_patient_body(self):
        return self._renderable("patient_body")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("ai_assisted"):
            for field in ("ai_tool", "ai_model", "ai_sections"):
                if not cleaned.get(field):
                    self.add_error(field, "Required when the text was drafted with AI assistance.")
        seen = cleaned.get("seen_row_version")
        if self.instance.pk and seen is None:
            raise forms.ValidationError(
                "This form does not say which version of the article you started from, so saving it "
                "could overwrite someone's change. Open the article again; nothing was saved."
            )
        if self.instance.pk and seen != self.instance.row_version:
            raise forms.ValidationError(
                "Someone changed this article while you were editing it. Open it again to "
                "see their changes; yours were not saved."
            )
        return cleaned


class ArticleChangeList(ChangeList):
    """The list shows no article text, so the long texts stay in the database."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer("summary", "body", "patient_body")


class IdsFirstPaginator(Paginator):
    """A page's ids first, then its rows: a deep page skips index entries, not whole rows.

    Django's paginator slices the list's query (OFFSET n LIMIT 50), which reads n rows from
    the table only to drop them: about 50 ms at page 500 of 100,000 articles. The ids come
    from the list's index alone (an index-only scan, about 5 ms), then the page's 50 rows.
    Near the top of the list, where OFFSET skips little, the one plain query is cheaper.
    """

    deep = 1000  # rows skipped from which the ids come first

    def _get_page(self, object_list, number, paginator):
        """Given the page's slice of the list (Django's page() cuts it): its rows, by id when deep."""
        if isinstance(object_list, QuerySet) and object_list.query.low_mark >= self.deep:
            ids = list(object_list.values_list("pk", flat=True))
            object_list = list(self.object_list.filter(pk__in=ids))
        return super()._get_page(object_list, number, paginator)
