"""The board's pages in the workspace: invitations, reviews, signatures and board members.

Registered from ``editorial.admin``. Every action posts to a small view that calls one
service in ``editorial.workflow.board``; refusals come back on the same page with their reason.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from articles.diff import diff_versions
from articles.rendering import render_markdown
from editorial import parsing
from editorial.notifications import inbox
from editorial.reads import checks
from editorial.reads import provenance as machine_reads
from editorial.workflow import board, permissions
from editorial.workflow.audit import one_history_row
from editorial.workflow.checks import doses_in
from editorial.workflow.exceptions import EditorialError
from editorial.workflow.invitations import board_zone, end_of_day
from editorial.workflow.permissions import Role
from editorial.workspace.base import ReadOnlyAdmin, ReadOnlyHistoryAdmin
from reviewers.models import (
    CHECKLIST,
    MACHINE_CHECK,
    REVIEW_BOXES,
    Conflict,
    FailedSignatureAttempt,
    Invitation,
    InvitationStatus,
    Recommendation,
    ReviewerProfile,
    Signature,
)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("article", "review_round", "reviewer", "status", "respond_by", "due_at")
    list_filter = ("status",)
    list_select_related = ("article", "reviewer")
    search_fields = ("article__title",)
    ordering = ("-invited_at", "-id")

    def get_queryset(self, request):
        return permissions.visible_invitations(request.user, super().get_queryset(request))

    def has_module_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR, Role.AUDITOR, Role.BOARD)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return self.has_module_permission(request)
        return permissions.visible_invitations(request.user).filter(pk=obj.pk).exists()

    def get_urls(self):
        return [
            path(
                "<path:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name="reviewers_invitation_act",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invitation = self.get_object(request, object_id)
        if invitation is None:
            raise Http404("No such invitation.")
        if request.method == "GET":  # where an invitation's notifications lead: opening it reads them
            inbox.mark_read_about(request.user, invitation.article_id)
        return self.render_invitation(request, invitation)

    def render_invitation(self, request, invitation, *, error=None, status=200, posted=None):
        user = request.user
        article = invitation.article
        is_reviewer = permissions.reviewer_refusal(user, invitation) is None
        is_editor = permissions.invite_refusal(user, article) is None
        version = article.current_version
        review = getattr(invitation, "review", None)
        earlier = (
            Invitation.objects.filter(
                article=article,
                reviewer=invitation.reviewer,
                status=InvitationStatus.COMPLETED,
                review_round__lt=invitation.review_round,
            )
            .select_related("review__version")
            .order_by("-review_round")
            .first()
        )
        changes = []
        if earlier and version and earlier.review.version_id != version.pk:
            changes = diff_versions(earlier.review.version.content, version.content)
        content = version.content if version else {}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review invitation: {article.title}",
            "opts": self.model._meta,
            "invitation": invitation,
            "article": article,
            "review": review,
            "show_confidential": review is not None and permissions.may_read_confidential(user, review),
            "is_reviewer": is_reviewer,
            "is_editor": is_editor,
            "may_review": is_reviewer
            and invitation.status == InvitationStatus.ACCEPTED
            and article.status == "under_review"
            and article.review_round == invitation.review_round,
            "version": version,
            "body_html": render_markdown(content.get("body", "")),
            "patient_html": render_markdown(content.get("patient_body", "")),
            "references": content.get("references", []),
            "earlier": earlier,
            "changes": changes,
            "recommendations": Recommendation.choices,
            "checklist": CHECKLIST,
            # Beside the checklist: the checks of this version, and whether "not applicable" may be
            # recorded for the doses (only where the lints found none).
            "checks": checks.version_checks(version),
            "doses": doses_in(version),
            # Above the text: what a machine drafted of this version, and the item it adds.
            "ai": machine_reads.of_version(version),
            "machine_check": MACHINE_CHECK,
            "machine_diff_url": reverse("admin:articles_article_machine_draft", args=[article.pk]),
            "conflict_choices": Conflict.choices,
            "error": error,
            "posted": posted or {},
            "ticked": {field for field in REVIEW_BOXES if (posted or {}).get(field) == "on"},
            "article_url": reverse("admin:articles_article_change", args=[article.pk]),
        }
        return TemplateResponse(request, "editorial/admin/invitation.html", context, status=status)

    def act_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        invitation = self.get_object(request, object_id)
        if invitation is None:
            raise Http404("No such invitation.")
        data = request.POST
        try:
            invitation.row_version = int(data.get("row_version", ""))
        except ValueError:
            invitation.row_version = -1
        user = request.user
        try:
            if action == "accept":
                board.invitation_accept(
                    invitation=invitation,
                    actor=user,
                    conflict=data.get("conflict", ""),
                    description=data.get("conflict_description", ""),
                )
                done = "You accepted the invitation. The review is due " + _when(invitation.due_at) + "."
            elif action == "decline":
                board.invitation_decline(invitation=invitation, actor=user, reason=data.get("reason", ""))
                done = "You declined the invitation; the editors are told."
            elif action == "review":
                board.review_submit(
                    invitation=invitation,
                    actor=user,
                    recommendation=data.get("recommendation", ""),
                    checklist={field: data.get(field) == "on" for field in REVIEW_BOXES},
                    comments_to_author=data.get("comments_to_author", ""),
                    confidential_comments=data.get("confidential_comments", ""),
                    password=data.get("password", ""),
                    request=request,
                )
                done = "Your review is submitted" + (
                    " and signed." if data.get("recommendation") == Recommendation.APPROVE else "."
                )
            elif action == "cancel":
                board.invitation_cancel(invitation=invitation, actor=user, reason=data.get("reason", ""))
                done = "The invitation is cancelled."
            elif action == "rule":
                board.invitation_rule_conflict(
                    invitation=invitation,
                    actor=user,
                    disqualifying=data.get("disqualifying") == "yes",
                    reason=data.get("reason", ""),
                )
                done = "Your ruling on the competing interest is recorded."
            else:
                raise Http404("No such action.")
        except EditorialError as error:
            fresh = self.get_object(request, object_id)
            return self.render_invitation(request, fresh, error=error.message, status=error.http_status, posted=data)
        messages.success(request, done)
        if action == "cancel" or action == "rule":
            return HttpResponseRedirect(reverse("admin:articles_article_change", args=[invitation.article_id]))
        return HttpResponseRedirect(reverse("admin:reviewers_invitation_change", args=[invitation.pk]))


def _when(moment) -> str:
    return timezone.localtime(moment, board_zone()).strftime("%d %b %Y")


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(ReadOnlyHistoryAdmin):
    list_display = ("printed_name", "credentials", "user", "is_active", "max_active_reviews")
    list_filter = ("is_active", "specialties")
    search_fields = ("printed_name", "user__username")
    filter_horizontal = ("specialties",)
    autocomplete_fields = ()
    actions = []

    def has_module_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR, Role.AUDITOR, Role.BOARD)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR)

    def has_change_permission(self, request, obj=None):
        return permissions.has_role(request.user, Role.EDITOR)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(groups__name=Role.BOARD, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """Saved in ``save_related``, with its specialties: one save, one history row."""

    def save_related(self, request, form, formsets, change):
        reason = "Board member edited" if change else "Board member added"
        with one_history_row(form.instance, actor=request.user, reason=reason, changed=form.has_changed()):
            form.instance.save()
            super().save_related(request, form, formsets, change)


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("signed_at", "article", "printed_name", "credentials", "meaning", "short_hash")
    list_filter = ("meaning",)
    list_select_related = ("article",)
    search_fields = ("article__title", "printed_name", "content_hash")
    ordering = ("-signed_at", "-id")

    @admin.display(description="SHA-256")
    def short_hash(self, obj):
        return obj.content_hash[:16] + "…"

    def get_queryset(self, request):
        visible = permissions.visible_articles(request.user)
        return super().get_queryset(request).filter(article__in=visible)

    def has_module_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR, Role.AUDITOR)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(FailedSignatureAttempt)
class FailedSignatureAttemptAdmin(ReadOnlyAdmin):
    list_display = ("attempted_at", "actor_name", "actor_role", "article", "meaning")
    list_select_related = ("article",)
    ordering = ("-attempted_at", "-id")

    def has_module_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR, Role.AUDITOR)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


def parse_moment(value: str, *, name: str = "date"):
    """A date from a form's date input, as the aware moment at the end of that day (or None).

    The end of the day in the board's time zone (``editorial.workflow.invitations.end_of_day``),
    never midnight UTC. Raises ``BadParameter`` for a date that does not exist (2030-02-30) or
    is out of range.
    """
    day = parsing.calendar_date(value, name=name)
    if day is None:
        return None
    return end_of_day(day)
