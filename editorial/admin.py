"""The workspace's pages for articles, and the read-only records of what happened.

Every write goes through ``editorial.services``; every "may this user" question goes to
``editorial.permissions``. Django's model permissions are not used for editorial objects:
a superuser sees and does in the workflow only what their roles allow.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from articles import content
from articles.models import Article, Reference, Specialty
from articles.rendering import render_markdown
from editorial import board, diagram, notifications, permissions, selectors, services, signing
from editorial.admin_base import ReadOnlyAdmin, ReadOnlyHistoryAdmin
from editorial.admin_board import parse_moment
from editorial.admin_filters import AuthorFilter, MineFilter, ReviewerFilter, StageFilter
from editorial.approval import approval_status
from editorial.audit import set_audit_context
from editorial.exceptions import EditorialError, NotReady, ReasonRequired, SignatureRefused
from editorial.invitations import default_dates as default_invitation_dates
from editorial.models import Event, Notification, TransitionRecord
from editorial.permissions import Role
from reviewers.models import ReviewerProfile

#: What happens next, shown on each transition's confirmation step.
CONSEQUENCES = {
    "submit": [
        "The editors of the board are told that the article waits for reviewers.",
        "The content is frozen while it is reviewed; you can still withdraw it.",
        "Readers see it as pending review, with the banner and the status tracker.",
    ],
    "resubmit": [
        "A new review round opens with the text as it is now.",
        "The editors are told; the content is frozen again until the decision.",
    ],
    "start_review": ["The article moves to Under review; its content stays frozen."],
    "approve": [
        "The author is told of the decision.",
        "This version becomes the published one; readers see it as reviewed.",
    ],
    "request_changes": [
        "The author receives your reason as the decision letter.",
        "The author can edit the article and resubmit it for a new round.",
    ],
    "reject": ["The author receives your reason. A rejected article is never public."],
    "withdraw": ["The article leaves the review process and is no longer public."],
    "retract": [
        "Readers see a retraction notice instead of the content.",
        "The author is told, with your reason.",
    ],
    "revise": [
        "A new draft opens from the approved text.",
        "Readers keep seeing the approved version until the revision is approved.",
    ],
}


# --- Articles --------------------------------------------------------------------------------


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
    fields = ("position", "authors", "title", "source", "year", "doi", "pmid", "url")
    ordering = ("position", "id")
    extra = 0
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https", "widget": forms.URLInput(attrs={"size": 18})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 18})},
        models.PositiveIntegerField: {"widget": forms.NumberInput(attrs={"style": "width: 4em"})},
        models.PositiveSmallIntegerField: {"widget": forms.NumberInput(attrs={"style": "width: 5em"})},
    }
    verbose_name = "reference"
    verbose_name_plural = "References (numbered in this order: cite them as [1], [2] ...)"

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
    seen_row_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=500,
        help_text="Kept in the article's history with your name.",
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

    def clean(self):
        cleaned = super().clean()
        seen = cleaned.get("seen_row_version")
        if self.instance.pk and seen is not None and seen != self.instance.row_version:
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


@admin.register(Article)
class ArticleAdmin(ReadOnlyHistoryAdmin):
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
            people = list(User.objects.filter(pk__in=request.POST.getlist("reviewer")))
            done, refused = 0, []
            for article in articles:
                try:
                    board.invitation_create(
                        article=article,
                        actor=request.user,
                        reviewers=people,
                        respond_by=parse_moment(request.POST.get("respond_by", "")),
                        due_at=parse_moment(request.POST.get("due_at", "")),
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
            "respond_by": respond_by.date().isoformat(),
            "due_at": due_at.date().isoformat(),
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

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data.get("change_reason") or "References edited"
        saved = formset.save(commit=False)
        services.references_save(
            article=form.instance,
            actor=request.user,
            saved=saved,
            deleted=formset.deleted_objects,
            reason=reason,
        )
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.warn_about_citations(request, form.instance)

    def warn_about_citations(self, request, article):
        """Name every [n] that points at no reference and every reference nothing cites."""
        count = article.references.count()
        dangling, uncited = content.citation_problems([article.body, article.patient_body], count)
        if dangling:
            markers = ", ".join(f"[{n}]" for n in dangling)
            messages.warning(request, f"The text cites {markers}, but there are only {count} references.")
        if uncited:
            numbers = ", ".join(f"[{n}]" for n in uncited)
            messages.warning(request, f"Nothing in the text cites reference {numbers}.")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id and request.method == "GET" and str(object_id).isdigit():
            # Where the notifications about the article lead: opening it reads them.
            notifications.mark_read_about(request.user, int(object_id))
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
        if obj is not None:
            context.update(self.workflow_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def workflow_context(self, request, article):
        user = request.user
        transitions = permissions.available_transitions(user, article)
        sees_board = permissions.sees_every_article(user)
        invitations = selectors.round_invitations(article) if article.review_round else []
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
            "letters": selectors.decision_letters(article) if (sees_board or article.author_id == user.pk) else [],
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
            "timeline": article.transitions.select_related("actor").order_by("created_at", "id"),
            "diagram": diagram.svg(current=article.status),
            "body_html": render_markdown(article.body),
            "patient_html": render_markdown(article.patient_body),
            "editable": permissions.may_edit_content(request.user, article),
        }

    # --- Transitions ---------------------------------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="articles_article_transition",
            ),
            path("preview/", self.admin_site.admin_view(self.preview_view), name="articles_article_preview"),
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name="articles_article_compare",
            ),
            path(
                "<path:object_id>/invite/",
                self.admin_site.admin_view(self.invite_view),
                name="articles_article_invite",
            ),
        ]
        return custom + super().get_urls()

    def transition_view(self, request, object_id, name):
        article = self.get_object(request, object_id)
        if article is None or name not in services.TRANSITION_SERVICES:
            raise Http404("No such article or transition.")
        change_url = reverse("admin:articles_article_change", args=[article.pk])
        context = {
            **self.admin_site.each_context(request),
            "title": f"{_label(name)}: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "name": name,
            "label": _label(name),
            "reason_required": services.reason_is_required(name),
            "consequences": CONSEQUENCES.get(name, []),
            "change_url": change_url,
            "row_version": article.row_version,
            "signs": name == "approve",
            "approval": approval_status(article) if name == "approve" else None,
            "error": None,
        }
        status, fixable = 200, False
        if request.method == "POST":
            copy = article
            try:
                copy.row_version = int(request.POST.get("row_version", ""))
            except ValueError:
                copy.row_version = -1
            try:
                services.article_transition(
                    article=copy,
                    actor=request.user,
                    name=name,
                    reason=request.POST.get("reason", ""),
                    password=request.POST.get("password", ""),
                    override_reason=request.POST.get("override_reason", ""),
                    request=request,
                )
            except EditorialError as error:
                context["error"], status = error.message, error.http_status
                # Errors the person can put right on this page keep the form open.
                fixable = isinstance(error, ReasonRequired | SignatureRefused) or (
                    isinstance(error, NotReady) and name == "approve" and context["approval"].quorum_reached
                )
                context["reason"] = request.POST.get("reason", "")
                context["override_reason"] = request.POST.get("override_reason", "")
                article.refresh_from_db()
                context["row_version"] = article.row_version
            else:
                messages.success(request, f"{_label(name)}: done. {article.title}")
                return HttpResponseRedirect(change_url)
        else:
            try:
                services.check_transition(article=article, actor=request.user, name=name)
            except EditorialError as error:
                context["error"], status = error.message, error.http_status
        context["can_confirm"] = context["error"] is None or fixable
        return TemplateResponse(request, "editorial/admin/transition_confirm.html", context, status=status)

    def preview_view(self, request):
        """The Markdown as readers will see it: the public page's renderer and sanitiser."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not permissions.may_create_article(request.user):
            raise PermissionDenied
        return JsonResponse({"html": str(render_markdown(request.POST.get("text", "")))})

    def invite_view(self, request, object_id):
        """The editor chooses board members for the current round, the best matches first."""
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        change_url = reverse("admin:articles_article_change", args=[article.pk])
        respond_by, due_at = default_invitation_dates()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Invite reviewers: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "change_url": change_url,
            "respond_by": respond_by.date().isoformat(),
            "due_at": due_at.date().isoformat(),
            "error": permissions.invite_refusal(request.user, article),
            "chosen": set(),
        }
        status = 403 if context["error"] else 200
        if request.method == "POST" and not context["error"]:
            chosen = [int(pk) for pk in request.POST.getlist("reviewer") if pk.isdigit()]
            people = list(User.objects.filter(pk__in=chosen))
            try:
                created = board.invitation_create(
                    article=article,
                    actor=request.user,
                    reviewers=people,
                    respond_by=parse_moment(request.POST.get("respond_by", "")),
                    due_at=parse_moment(request.POST.get("due_at", "")),
                    reason=request.POST.get("reason", ""),
                )
            except EditorialError as error:
                context.update(
                    error=error.message,
                    chosen=set(chosen),
                    respond_by=request.POST.get("respond_by", ""),
                    due_at=request.POST.get("due_at", ""),
                )
                status = error.http_status
            else:
                names = ", ".join(signing.printed_identity(i.reviewer)[0] for i in created)
                messages.success(request, f"Invited {names}. Each is told by e-mail.")
                return HttpResponseRedirect(change_url)
        context["suggestions"] = selectors.suggest_reviewers(article) if status != 403 else []
        return TemplateResponse(request, "editorial/admin/invite.html", context, status=status)

    # --- History: read it, never write it ---------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        extra_context = {
            **(extra_context or {}),
            "transitions": article.transitions.select_related("actor").order_by("created_at", "id"),
            "reference_history": Reference.history.filter(article_id=article.pk)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")[:200],
            **selectors.board_history(request.user, article),
            "versions": list(
                article.history.select_related("history_user").order_by("-history_date", "-history_id")[:100]
            ),
            "compare_url": reverse("admin:articles_article_compare", args=[article.pk]),
            "can_export": permissions.may_export_audit(request.user),
            "notification_log": list(
                Notification.objects.filter(event__article=article)
                .select_related("event", "recipient")
                .order_by("-created_at", "-id")[:200]
            )
            if permissions.sees_every_article(request.user)
            else [],
        }
        return super().history_view(request, object_id, extra_context)

    def compare_view(self, request, object_id):
        """Field by field, what changed between two saved versions: by whom, when and why."""
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        rows = {
            h.history_id: h
            for h in article.history.filter(
                history_id__in=[v for v in (request.GET.get("a"), request.GET.get("b")) if v and v.isdigit()]
            ).select_related("history_user")
        }
        if len(rows) != 2:
            raise Http404("Choose two versions of this article.")
        older, newer = sorted(rows.values(), key=lambda h: (h.history_date, h.history_id))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare versions: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "older": older,
            "newer": newer,
            "changes": selectors.compare_history(article, older, newer),
            "history_url": reverse("admin:articles_article_history", args=[article.pk]),
        }
        return TemplateResponse(request, "editorial/admin/compare.html", context)


def _label(name: str) -> str:
    for transition in getattr(Article, name)._django_fsm.transitions.values():
        return transition.custom.get("label", name)
    return name


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


# --- Records ---------------------------------------------------------------------------------


@admin.register(TransitionRecord)
class TransitionRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "article",
        "transition",
        "from_status",
        "to_status",
        "actor",
        "reason",
        "review_round",
    )
    list_filter = ("transition", "to_status")
    list_select_related = ("article", "actor")
    search_fields = ("article__title", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")

    def get_queryset(self, request):
        visible = permissions.visible_articles(request.user)
        return super().get_queryset(request).filter(article__in=visible)

    def has_module_permission(self, request):
        return bool(permissions.roles(request.user))

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return bool(permissions.roles(request.user))
        return permissions.may_view_article(request.user, obj.article)


class NotificationInline(admin.TabularInline):
    model = Notification
    fields = ("recipient", "channel", "status", "attempts", "last_error", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "article", "actor", "status")
    list_filter = ("kind", "status")
    list_select_related = ("article", "actor")
    inlines = [NotificationInline]
    ordering = ("-created_at", "-id")

    def has_module_permission(self, request):
        return permissions.may_export_audit(request.user) or request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The notification log: every delivery, its attempts and errors; dead letters can be retried."""

    list_display = (
        "created_at",
        "event_kind",
        "article",
        "recipient",
        "channel",
        "status",
        "attempts",
        "last_error",
        "claimed_at",
        "sent_at",
    )
    list_filter = ("status", "channel", "event__kind")
    list_select_related = ("event__article", "recipient")
    search_fields = ("recipient__username", "recipient__email", "event__article__title")
    ordering = ("-created_at", "-id")
    actions = ["retry"]

    @admin.display(description="event", ordering="event__kind")
    def event_kind(self, obj):
        return obj.event.get_kind_display()

    @admin.display(description="article")
    def article(self, obj):
        return obj.event.article

    @admin.action(description="Retry the selected dead deliveries", permissions=["retry"])
    def retry(self, request, queryset):
        dead = queryset.filter(status=Notification.Status.DEAD)
        count = dead.count()
        events = notifications.retry_dead(dead.values_list("pk", flat=True))
        messages.success(request, f"{count} dead deliveries queued again ({len(events)} events).")

    def has_retry_permission(self, request):
        return permissions.may_operate_notifications(request.user)

    def has_module_permission(self, request):
        return permissions.may_export_audit(request.user) or request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


# --- Accounts: operators deactivate people, never delete them (it would erase who did what) ---


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class WorkspaceUserAdmin(UserAdmin):
    actions = []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Group)
class WorkspaceGroupAdmin(GroupAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
