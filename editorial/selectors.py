"""Reads shared by the public pages and the API."""

from django.conf import settings
from django.db.models import Q, QuerySet

from articles.models import Article, ArticleStatus

S = ArticleStatus

#: Statuses in which readers see the article itself, by the EDITORIAL_PUBLIC_FROM setting.
PUBLIC_STATUSES = {
    "submitted": {S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.RETRACTED},
    "approved": {S.APPROVED, S.RETRACTED},
}


def public_articles() -> QuerySet:
    """Articles readers may open: by status, or because an approved version exists."""
    statuses = PUBLIC_STATUSES.get(settings.EDITORIAL_PUBLIC_FROM, PUBLIC_STATUSES["approved"])
    never = {S.WITHDRAWN, S.REJECTED}
    return Article.objects.filter(Q(status__in=statuses) | (Q(published_version__isnull=False) & ~Q(status__in=never)))
