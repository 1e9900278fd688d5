"""AI provenance: which machine drafted which sections of a version, and what it wrote.

Rules and records only. An article carries at most one *declaration* (``version`` empty)
while it is drafted; each submission copies it onto the new version, where it is kept with
the version for good (written once). The machine's own text of the drafted sections is kept
too, so the board and the record can always compare the machine draft with the approved text.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

#: The sections a machine may have drafted, in page order, with the words the pages use.
SECTIONS = {
    "title": "Clinical question",
    "summary": "Summary",
    "body": "Text for clinicians",
    "patient_body": "Text for patients",
}

#: Lengths of the declaration's fields (the API and the workspace refuse longer ones).
TOOL_LIMIT = 100
MODEL_LIMIT = 100
RUN_ID_LIMIT = 200


class AIProvenance(models.Model):
    """Who, or rather which tool and model, drafted which sections of an article's text.

    ``version`` empty: the article's current declaration (at most one, replaced or removed
    while the article is editable). ``version`` set: the copy kept with that submitted version.
    """

    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="ai_provenances")
    version = models.OneToOneField(
        "articles.ArticleVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="ai_provenance"
    )
    tool = models.CharField(max_length=TOOL_LIMIT, help_text="The drafting tool or pipeline: “MedDraft”.")
    model_name = models.CharField("model", max_length=MODEL_LIMIT, help_text="The language model: “gpt-4o”.")
    model_version = models.CharField(max_length=MODEL_LIMIT, blank=True, help_text="Its version or snapshot date.")
    run_id = models.CharField(
        "run or prompt id", max_length=RUN_ID_LIMIT, blank=True, help_text="The pipeline's run or prompt id."
    )
    generated_at = models.DateTimeField("drafted at", help_text="When the machine produced the draft (UTC).")
    sections = models.JSONField(default=list, help_text="The machine-drafted sections: keys of SECTIONS.")
    machine_draft = models.JSONField(
        default=dict, help_text="The drafted sections' text as the machine wrote it, by section key."
    )
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["article", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["article"], condition=Q(version__isnull=True), name="one_ai_declaration_per_article"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tool} ({self.model_name}) for article {self.article_id}"

    @property
    def section_labels(self) -> list[str]:
        """The drafted sections in page order, in the pages' words."""
        return [label for key, label in SECTIONS.items() if key in self.sections]

    def facts(self) -> dict:
        """The declaration as the API gives it (times in ISO 8601, UTC offset included)."""
        return {
            "tool": self.tool,
            "model": self.model_name,
            "model_version": self.model_version,
            "run_id": self.run_id,
            "generated_at": self.generated_at.isoformat(),
            "sections": [key for key in SECTIONS if key in self.sections],
        }
