"""The floor for the workflow benchmark: a bare django-fsm-2 model and its one log row.

No permissions, no history, no outbox: a transition here is SELECT ... FOR UPDATE, an UPDATE
and one INSERT, which is the least any audited state change can cost.
"""

from django.db import models
from django.db.models.functions import Now
from django_fsm import FSMField, transition


class BareArticle(models.Model):
    status = FSMField(default="draft")

    def __str__(self) -> str:
        return f"Bare article {self.pk} ({self.status})"

    @transition(field=status, source="draft", target="submitted")
    def submit(self) -> None:
        pass

    @transition(field=status, source="submitted", target="under_review")
    def start_review(self) -> None:
        pass

    @transition(field=status, source="under_review", target="approved")
    def approve(self) -> None:
        pass

    @transition(field=status, source="approved", target="draft")
    def revise(self) -> None:
        pass


class BareTransitionLog(models.Model):
    article = models.ForeignKey(BareArticle, on_delete=models.CASCADE, related_name="log")
    transition = models.CharField(max_length=40)
    from_status = models.CharField(max_length=30)
    to_status = models.CharField(max_length=30)
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"{self.transition}: {self.from_status} → {self.to_status}"
