"""Filters of the workspace's article list: stages, mine, author, reviewer.

A filter offered to a role answers only from what that role may see. Who reviews an article,
how many signatures it has, whether a review is late: that is the board's business, so the
reviewer filter and the stages built on invitations and signatures are offered to editors
and auditors only, and for anyone else their parameters change nothing (the list is the same
with and without them).
"""

from urllib.parse import parse_qsl

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q

from editorial.reads import worklists
from editorial.workflow import permissions
from reviewers.models import Invitation

#: Stages that read the board's side of an article (signatures, invitations, due reviews).
BOARD_STAGES = frozenset({"ready", "overdue"})


def _stages_for(user) -> list[tuple[str, str, object]]:
    if permissions.sees_every_article(user):
        return worklists.STAGES
    return [stage for stage in worklists.STAGES if stage[0] not in BOARD_STAGES]


class StageFilter(admin.SimpleListFilter):
    title = "stage"
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label, _ in _stages_for(request.user)]

    def queryset(self, request, queryset):
        builders = {value: build for value, _, build in _stages_for(request.user)}
        build = builders.get(self.value())
        return build(queryset) if build else queryset


class MineFilter(admin.SimpleListFilter):
    title = "whose"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", "Mine")]

    def queryset(self, request, queryset):
        return queryset.filter(author=request.user) if self.value() == "1" else queryset


class InputFilter(admin.SimpleListFilter):
    """A text box in the filter sidebar: lists of people would not fit at scale."""

    template = "editorial/admin/input_filter.html"

    def lookups(self, request, model_admin):
        return [("", "")]  # Django shows a filter only if it has lookups

    def choices(self, changelist):
        query = changelist.get_query_string(remove=[self.parameter_name, "p"])
        yield {
            "query_string_params": dict(parse_qsl(query.lstrip("?"))),
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
        }


class AuthorFilter(InputFilter):
    title = "author (user name or name)"
    parameter_name = "author"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(author__username__iexact=value) | Q(author__last_name__iexact=value) | Q(author__first_name__iexact=value)
        )


class ReviewerFilter(InputFilter):
    """Articles a board member is invited to (any answer): for editors and auditors only."""

    title = "reviewer (user name or name)"
    parameter_name = "reviewer"

    def lookups(self, request, model_admin):
        return super().lookups(request, model_admin) if permissions.sees_every_article(request.user) else []

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value or not permissions.sees_every_article(request.user):
            return queryset
        invited = Invitation.objects.filter(article=OuterRef("pk")).filter(
            Q(reviewer__username__iexact=value)
            | Q(reviewer__last_name__iexact=value)
            | Q(reviewer__reviewer_profile__printed_name__iexact=value)
        )
        return queryset.filter(Exists(invited))
