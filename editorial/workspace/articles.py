"""The workspace's pages for articles: the list, the change form and its workflow panel.

Every write goes through ``editorial.workflow``; every "may this user" question goes to
``editorial.workflow.permissions``. Django's model permissions are not used for editorial
objects: a superuser sees and does in the workflow only what their roles allow. The pages
an article links to (transitions, invitations, history, comparison) are in ``article_pages``.
"""

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from articles.models import Article, Reference, Specialty
from articles.rendering import render_markdown
from editorial import parsing
from editorial.notifications import inbox
from editorial.reads import checks, rounds
from editorial.reads import provenance as machine_reads
from editorial.workflow import board, permissions, provenance, references, services
from editorial.workflow.approval import approval_status
from editorial.workflow.audit import set_audit_context
from editorial.workflow.exceptions import EditorialError
from editorial.workflow.invitations import board_date
from editorial.workflow.invitations import default_dates as default_invitation_dates
from editorial.workflow.permissions import Role
from editorial.workspace import diagram
from editorial.workspace.article_forms import ArticleChangeList, ArticleForm, IdsFirstPaginator, ReferenceInline
from editorial.workspace.article_pages import ArticlePagesMixin
from editorial.workspace.base import ReadOnlyHistoryAdmin
from editorial.workspace.board import parse_moment
from editorial.workspace.filters import AuthorFilter, MineFilter, ReviewerFilter, StageFilter
from reviewers.models import ReviewerProfile


@admin.register(Article)
class ArticleAdmin(ArticlePagesMixin, ReadOnlyHistoryAdmin):
    form = ArticleForm
    inlines = [ReferenceInline]
    change_form_template = "editorial/admin/article_change_form.html"
    object_history_template = "editorial/admin/article_history.html"
    list_display = ("title", "status_badge", "review_round", "author", "specialty", "content_updated_at")
    list_filter = (StageFilter, "status", "specialty", MineFilter, AuthorFilter, ReviewerFilter)
    list_select_related = ("author", "specialty")
    search_fields = ("title",)  # and the references' titles: see get_search_results
    search_help_text = "Search the clinical questions and the titles of their references."
    ordering = ("-updated_at", "-id")
    list_per_page = 50
    show_full_result_count = False  # one COUNT, not two, on a list of 100,000 articles
    actions = ["invite_reviewers"]
    fieldsets = (
        (None, {"fields": ("title", "slug", "specialty", "summary")}),
        (
            "Text: for clinicians and for patients, side by side",
            {"fields": ("body", "patient_body"), "classes": ["text-columns"]},
        ),
        (
            "AI assistance",
            {
                "fields": (
                    "ai_assisted",
                    ("ai_tool", "ai_model", "ai_model_version"),
                    ("ai_run_id", "ai_generated_at"),
                    "ai_sections",
                ),
                "classes": ["ai-assistance"],
            },
        ),
        (None, {"fields": ("change_reason", "seen_row_version")}),
    )
    history_list_display = ["status", "review_round"]

    class Media:
        js = ["editorial/drafting.js"]

    paginator = IdsFirstPaginator

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    # --- Who sees what -----------------------------------------------------------------

    def get_queryset(self, request):
        return permissions.visible_articles(request.user, super().get_queryset(request))

    def has_module_permission(self, request):
        return bool(permissions.roles(request.user))

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return bool(permissions.roles(request.user))
        return permissions.may_view_article(request.user, obj)

    def has_add_permission(self, request):
        return permissions.may_create_article(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return permissions.may_create_article(request.user)
        return permissions.may_edit_content(request.user, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not permissions.may_edit_content(request.user, obj):
            # Read-only: the texts are shown rendered, as readers see them, not as Markdown.
            return self.fieldsets[:1]
        return self.fieldsets

    # --- The list ------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        """Questions and reference titles, without a join that would need DISTINCT at scale."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # A union of two index searches (trigram indexes on PostgreSQL), not an OR across a join;
        # UNION ALL, as IN () drops the duplicates anyway: UNION sorted them first (2-3x slower).
        matching = (
            Article.objects.filter(title__icontains=term)
            .order_by()
            .values("pk")
            .union(Reference.objects.filter(title__icontains=term).order_by().values("article_id"), all=True)
        )
        return queryset.filter(pk__in=matching), False

    @admin.action(description="Invite reviewers to the selected articles", permissions=["invite"])
    def invite_reviewers(self, request, queryset):
        """Bulk invitation: the same board members to each selected article, each on its own."""
        articles = list(queryset.order_by("title")[:100])
        respond_by, due_at = default_invitation_dates()
        if "apply" in request.POST:
            try:
                chosen = parsing.identifiers(request.POST.getlist("reviewer"), name="reviewer", most=50)
                respond_by = parse_moment(request.POST.get("respond_by", ""), name="respond by")
                due_at = parse_moment(request.POST.get("due_at", ""), name="review due")
            except parsing.BadParameter as error:
                messages.error(request, error.message)
                return None
            people = list(User.objects.filter(pk__in=chosen))
            done, refused = 0, []
            for article in articles:
                try:
                    board.invitation_create(
                        article=article,
                        actor=request.user,
                        reviewers=people,
                        respond_by=respond_by,
                        due_at=due_at,
                        reason=request.POST.get("reason", ""),
                    )
                    done += 1
                except EditorialError as error:
                    refused.append(f"{article.title}: {error.message}")
            if done:
                messages.success(request, f"Invitations sent for {done} article(s).")
            for line in refused:
                messages.error(request, line)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite reviewers to the selected articles",
            "opts": self.model._meta,
            "articles": articles,
            "members": ReviewerProfile.objects.filter(
                is_active=True, user__is_active=True, user__groups__name=Role.BOARD
            )
            .select_related("user")
            .prefetch_related("specialties")
            .order_by("printed_name"),
            "respond_by": board_date(respond_by).isoformat(),
            "due_at": board_date(due_at).isoformat(),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "editorial/admin/bulk_invite.html", context)

    def has_invite_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="status-badge status-{}">{}</span>', obj.status, obj.get_status_display())

    # --- Saving through the services -----------------------------------------------------

    def save_model(self, request, obj, form, change):
        services.article_save(
            article=obj,
            actor=request.user,
            reason=form.cleaned_data.get("change_reason", ""),
            expected_row_version=form.cleaned_data.get("seen_row_version") if change else None,
        )
        if form.ai_changed:
            provenance.provenance_declare(article=obj, actor=request.user, provenance=form.ai_declaration())

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data.get("change_reason") or "References edited"
        saved = formset.save(commit=False)
        references.references_save(
            article=form.instance,
            actor=request.user,
            saved=saved,
            deleted=formset.deleted_objects,
            reason=reason,
        )
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        seen = form.cleaned_data.get("seen_row_version") if change else None
        if seen is not None and form.instance.row_version == seen and any(f.has_changed() for f in formsets):
            # Only the references changed: the article's version still moves (a stale copy of
            # the list is refused like any other), with one history row.
            services.article_save(
                article=form.instance,
                actor=request.user,
                reason=form.cleaned_data.get("change_reason") or "References edited",
                expected_row_version=seen,
                force=True,
            )
        self.warn_about_citations(request, form.instance)

    def warn_about_citations(self, request, article):
        """After each save: what blocks submission (the citation gate), and how many lints remain."""
        found = checks.article_checks(article)
        for problem in found.citations.problems:
            messages.warning(request, f"Before it can be submitted: {problem}")
        for warning in found.citations.warnings:
            messages.warning(request, warning)
        for note in found.sources:
            if note.disqualifies:
                messages.warning(request, note.message)
        if found.findings:
            messages.info(
                request,
                f"The safety checks found {len(found.findings)} thing(s) to look at: see “Checks” below the texts.",
            )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id and request.method == "GET" and str(object_id).isdigit():
            # Where the notifications about the article lead: opening it reads them.
            inbox.mark_read_about(request.user, int(object_id))
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except EditorialError as error:
            # The admin's transaction has rolled back: nothing of this save remains.
            messages.error(request, error.message)
            if object_id:
                return HttpResponseRedirect(request.path)
            return HttpResponseRedirect(reverse("admin:articles_article_changelist"))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_url"] = reverse("admin:articles_article_preview")
        context["checks_url"] = reverse("admin:articles_article_checks")
        context["lookup_url"] = reverse("admin:articles_article_lookup")
        if obj is not None:
            # Editable: the live text's checks; otherwise those of the version under review.
            editable = permissions.may_edit_content(request.user, obj)
            context["checks"] = checks.article_checks(obj) if editable else checks.version_checks(obj.current_version)
        if obj is not None:
            context.update(self.workflow_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def workflow_context(self, request, article):
        user = request.user
        transitions = permissions.available_transitions(user, article)
        sees_board = permissions.sees_every_article(user)
        invitations = rounds.round_invitations(article) if article.review_round else []
        if not sees_board:
            invitations = [i for i in invitations if i.reviewer_id == user.pk]
        for invitation in invitations:
            review = getattr(invitation, "review", None)
            invitation.show_confidential = review is not None and permissions.may_read_confidential(user, review)
            invitation.superseded = (
                review is not None and hasattr(review, "signature") and review.version_id != article.current_version_id
            )
        board_context = {
            "invitations": invitations,
            "sees_board": sees_board,
            "can_invite": permissions.invite_refusal(user, article) is None
            and article.status in ("submitted", "under_review"),
            "invite_url": reverse("admin:articles_article_invite", args=[article.pk]),
            "approval": approval_status(article) if sees_board and article.status == "under_review" else None,
            "letters": rounds.decision_letters(article) if (sees_board or article.author_id == user.pk) else [],
        }
        return {
            **board_context,
            "article": article,
            "transitions": [
                {
                    "name": t.name,
                    "label": t.custom.get("label", t.name),
                    "url": reverse("admin:articles_article_transition", args=[article.pk, t.name]),
                }
                for t in transitions
            ],
            "timeline": article.transitions.order_by("created_at", "id"),
            "diagram": diagram.svg(current=article.status),
            "body_html": render_markdown(article.body),
            "patient_html": render_markdown(article.patient_body),
            "editable": permissions.may_edit_content(request.user, article),
            "ai": machine_reads.of_version(article.current_version),
            "machine_diff_url": reverse("admin:articles_article_machine_draft", args=[article.pk]),
        }


@admin.register(Specialty)
class SpecialtyAdmin(ReadOnlyHistoryAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)
    actions = []

    def has_module_permission(self, request):
        return bool(permissions.roles(request.user))

    def has_view_permission(self, request, obj=None):
        return bool(permissions.roles(request.user))

    def has_add_permission(self, request):
        return permissions.has_role(request.user, Role.EDITOR)

    def has_change_permission(self, request, obj=None):
        return permissions.has_role(request.user, Role.EDITOR)

    def save_model(self, request, obj, form, change):
        set_audit_context(obj, actor=request.user, reason="Specialty edited" if change else "Specialty added")
        super().save_model(request, obj, form, change)
