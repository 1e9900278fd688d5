"""The API at /api/v1/: the same services and the same policy as the workspace.

Optimistic concurrency follows HTTP's own convention (RFC 9110 §8.8.3, §13.1.1; RFC 6585 §3):
an article's representation carries an ``ETag`` naming its ``row_version``; ``PUT`` and
``PATCH`` must send it back in ``If-Match`` (428 without it, 412 when the article changed
since, with the current version in the body). Visibility (404) and permission (403) are
decided first, so nobody learns the version of an article they may not see or edit.
Transitions keep their own token, ``row_version`` in the body (409 when stale).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from articles import content
from articles import provenance as provenance_rules
from articles.models import Article, Reference, Specialty
from editorial.api import idempotency
from editorial.api.board import LetterSerializer, signing_password
from editorial.api.errors import EditorialAPIError, PreconditionRequired, refusals
from editorial.api.writing_aids import ChecksSerializer
from editorial.models import TransitionRecord
from editorial.reads import checks, rounds
from editorial.workflow import permissions, provenance, services
from editorial.workflow.contract import UNCHANGED
from editorial.workflow.exceptions import EditorialError, StaleArticle


def etag(article: Article) -> str:
    """The strong entity tag of an article's current version: ``"<row_version>"``."""
    return f'"{article.row_version}"'


def if_match_version(header: str) -> list[int | None]:
    """The row versions an If-Match header names (None for a tag this API never issues)."""
    versions = []
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit() and len(tag) < 12:
            versions.append(int(tag[1:-1]))
        else:
            versions.append(None)  # weak tags (W/"…") and "*" never match: they do not name a version
    return versions


class ReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reference
        fields = ("authors", "title", "source", "year", "doi", "pmid", "url")


class TransitionRecordSerializer(serializers.ModelSerializer):
    """``actor`` is the user name (frozen once on record); name and roles as they were then."""

    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = TransitionRecord
        fields = (
            "transition",
            "from_status",
            "to_status",
            "actor",
            "actor_name",
            "actor_role",
            "reason",
            "review_round",
            "created_at",
        )


class AIProvenanceSerializer(serializers.Serializer):
    """AI provenance of a draft: which tool and model drafted which sections (articles.provenance)."""

    tool = serializers.CharField(max_length=provenance_rules.TOOL_LIMIT, help_text="The drafting tool or pipeline.")
    model = serializers.CharField(max_length=provenance_rules.MODEL_LIMIT, help_text="The language model.")
    model_version = serializers.CharField(
        max_length=provenance_rules.MODEL_LIMIT, required=False, allow_blank=True, default=""
    )
    run_id = serializers.CharField(
        max_length=provenance_rules.RUN_ID_LIMIT,
        required=False,
        allow_blank=True,
        default="",
        help_text="The pipeline's run or prompt id.",
    )
    generated_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the machine drafted it (default: now)."
    )
    sections = serializers.ListField(
        child=serializers.ChoiceField(choices=list(provenance_rules.SECTIONS)),
        min_length=1,
        max_length=len(provenance_rules.SECTIONS),
        help_text="The machine-drafted sections.",
    )


class ArticleSummarySerializer(serializers.ModelSerializer):
    """An article in a list: what it is and where it stands, not its texts."""

    specialty = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Article
        fields = (
            "id",
            "title",
            "slug",
            "specialty",
            "author",
            "status",
            "review_round",
            "row_version",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
        )
        read_only_fields = fields


class ArticleSerializer(serializers.ModelSerializer):
    specialty = serializers.SlugRelatedField(
        slug_field="slug", queryset=Specialty.objects.all(), required=False, allow_null=True
    )
    author = serializers.CharField(source="author.username", read_only=True)
    references = ReferenceSerializer(many=True, required=False, max_length=content.MAX_REFERENCES)
    available_transitions = serializers.SerializerMethodField()
    change_reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=content.REASON_LIMIT
    )
    ai_provenance = AIProvenanceSerializer(
        required=False,
        allow_null=True,
        help_text="Set when a machine drafted the text (its text now is kept as the machine draft); "
        "null says no machine was involved; left out, an update keeps what was declared.",
    )

    class Meta:
        model = Article
        fields = (
            "id",
            "title",
            "slug",
            "summary",
            "body",
            "patient_body",
            "specialty",
            "author",
            "status",
            "review_round",
            "row_version",
            "created_at",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
            "references",
            "available_transitions",
            "change_reason",
            "ai_provenance",
        )
        read_only_fields = (
            "status",
            "review_round",
            "row_version",
            "created_at",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
        )
        extra_kwargs = {"slug": {"required": False}}

    def to_representation(self, article):
        declared = provenance.declaration(article)
        article.ai_provenance = declared.facts() if declared else None
        data = super().to_representation(article)
        # A reference's number is its rank in the ordered list: what the text's [n] cites.
        for number, reference in enumerate(data.get("references", []), start=1):
            reference["number"] = number
        return data

    def get_available_transitions(self, article) -> list[str]:
        user = self.context["request"].user
        return [t.name for t in permissions.available_transitions(user, article)]

    def create(self, validated):
        references = validated.pop("references", [])
        reason = validated.pop("change_reason", "")
        declared = validated.pop("ai_provenance", None)
        try:
            return services.article_create(
                actor=self.context["request"].user,
                fields=validated,
                references=references,
                reason=reason,
                provenance=declared,
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error

    def update(self, article, validated):
        references = validated.pop("references", None)
        reason = validated.pop("change_reason", "")
        declared = validated.pop("ai_provenance", UNCHANGED)
        try:
            return services.article_update(
                article=article,
                actor=self.context["request"].user,
                fields=validated,
                references=references,
                reason=reason,
                provenance=declared,
                expected_row_version=self.context["expected_row_version"],
            )
        except StaleArticle as error:
            current = Article.objects.only("row_version").get(pk=article.pk)
            raise EditorialAPIError(
                error, status_code=412, row_version=current.row_version, etag=etag(current)
            ) from error
        except EditorialError as error:
            raise EditorialAPIError(error) from error


class TransitionRequestSerializer(serializers.Serializer):
    transition = serializers.ChoiceField(choices=sorted(services.TRANSITION_SERVICES))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=content.REASON_LIMIT)
    row_version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="The row_version of the copy you acted on; a stale copy is refused (409).",
    )
    password = signing_password("approve only: the editor's password, which signs the decision.")
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=content.REASON_LIMIT,
        help_text="approve only: why an open reject recommendation is overridden.",
    )


class AvailableTransitionSerializer(serializers.Serializer):
    """A transition the caller may fire now: its name for POST, what it needs."""

    name = serializers.CharField()
    label = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField(help_text="required or optional")
    signature = serializers.SerializerMethodField(help_text="true: the password signs it (approve)")

    def get_label(self, transition) -> str:
        return transition.custom.get("label", transition.name)

    def get_reason(self, transition) -> str:
        return transition.custom.get("reason", "optional")

    def get_signature(self, transition) -> bool:
        return transition.name == "approve"


IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version you edited, as the GET gave it (e.g. "7").',
)


@extend_schema_view(
    list=extend_schema(responses={200: ArticleSummarySerializer(many=True), **refusals(400, 401, 404)}),
    retrieve=extend_schema(responses={200: ArticleSerializer, **refusals(401, 404)}),
    create=extend_schema(
        parameters=[idempotency.PARAMETER], responses={201: ArticleSerializer, **refusals(400, 401, 403, 409, 422)}
    ),
    update=extend_schema(
        parameters=[IF_MATCH], responses={200: ArticleSerializer, **refusals(400, 401, 403, 404, 409, 412, 428)}
    ),
    partial_update=extend_schema(
        parameters=[IF_MATCH], responses={200: ArticleSerializer, **refusals(400, 401, 403, 404, 409, 412, 428)}
    ),
)
class ArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Articles the caller may see; authors draft, everyone acts through transitions."""

    serializer_class = ArticleSerializer

    def get_queryset(self):
        queryset = Article.objects.select_related("author", "specialty")
        if self.action == "list":
            queryset = queryset.defer("summary", "body", "patient_body")
        else:
            queryset = queryset.prefetch_related("references")
        return permissions.visible_articles(self.request.user, queryset).order_by("-updated_at", "-id")

    def get_serializer_class(self):
        return ArticleSummarySerializer if self.action == "list" else ArticleSerializer

    def perform_create(self, serializer):
        if not permissions.may_create_article(self.request.user):
            raise PermissionDenied("Only authors and editors can create articles.")
        serializer.save()

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{response.data["row_version"]}"'
        return response

    def update(self, request, *args, **kwargs):
        """PUT/PATCH: 404 if not visible, 403 if not theirs to edit, then 428/412 on If-Match, then 409."""
        article = self.get_object()
        refusal = permissions.content_role_refusal(request.user, article)
        if refusal:
            raise PermissionDenied(refusal)
        header = request.headers.get("If-Match", "").strip()
        if not header:
            raise PreconditionRequired()
        if article.row_version not in if_match_version(header):
            raise EditorialAPIError(
                StaleArticle(
                    "This article changed since the version you edited: reload it and apply your change again."
                ),
                status_code=412,
                row_version=article.row_version,
                etag=etag(article),
            )
        context = {**self.get_serializer_context(), "expected_row_version": article.row_version}
        serializer = self.get_serializer(
            article, data=request.data, partial=kwargs.pop("partial", False), context=context
        )
        serializer.is_valid(raise_exception=True)
        saved = serializer.save()
        fresh = self.get_queryset().get(pk=saved.pk)
        return self._with_checks(Response(self.get_serializer(fresh).data, headers={"ETag": etag(fresh)}))

    @idempotency.idempotent
    def create(self, request, *args, **kwargs):
        return self._with_checks(super().create(request, *args, **kwargs))

    def _with_checks(self, response: Response) -> Response:
        """A save's answer carries the checks of what was saved (computed on every save)."""
        article = Article.objects.prefetch_related("references").get(pk=response.data["id"])
        response.data["checks"] = checks.article_checks(article).as_dict()
        return response

    @extend_schema(responses={200: ChecksSerializer, **refusals(401, 404)})
    @action(detail=True, methods=["get"])
    def checks(self, request, pk=None, **kwargs):
        """The checks of the article: of its live text while its author may edit it, else of the
        version under review (as recorded when it was submitted)."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        if permissions.may_edit_content(request.user, article):
            found = checks.article_checks(article)
        else:
            found = checks.version_checks(article.current_version) or checks.article_checks(article)
        return Response(found.as_dict())

    @extend_schema(
        methods=["GET"],
        responses={200: AvailableTransitionSerializer(many=True), **refusals(401, 404)},
        description="What the caller may do to the article now, as the workspace offers it.",
    )
    @extend_schema(
        methods=["POST"],
        request=TransitionRequestSerializer,
        responses={200: ArticleSerializer, **refusals(400, 401, 403, 404, 409)},
        description="Fire a transition: 403 for the wrong person, 409 for the wrong state or a stale copy.",
    )
    @action(detail=True, methods=["get", "post"])
    def transitions(self, request, pk=None, **kwargs):
        """GET: the transitions the caller may fire; POST: fire one (reason; password to sign)."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        if request.method == "GET":
            allowed = permissions.available_transitions(request.user, article)
            return Response(AvailableTransitionSerializer(allowed, many=True).data)
        body = TransitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        current_version = article.row_version
        article.row_version = body.validated_data["row_version"]
        try:
            article = services.article_transition(
                article=article,
                actor=request.user,
                name=body.validated_data["transition"],
                reason=body.validated_data["reason"],
                password=body.validated_data["password"],
                override_reason=body.validated_data["override_reason"],
                request=request,
            )
        except StaleArticle as error:
            raise EditorialAPIError(error, row_version=current_version) from error
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        article = self.get_queryset().get(pk=article.pk)
        return Response(self.get_serializer(article).data, status=status.HTTP_200_OK, headers={"ETag": etag(article)})

    @extend_schema(responses={200: LetterSerializer(many=True), **refusals(401, 404)})
    @action(detail=True, methods=["get"])
    def letters(self, request, pk=None, **kwargs):
        """The decision letters, newest first: for the author, editors and auditors (others: none)."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        mine = permissions.sees_every_article(request.user) or article.author_id == request.user.pk
        return Response(LetterSerializer(rounds.decision_letters(article) if mine else [], many=True).data)

    @extend_schema(responses={200: TransitionRecordSerializer(many=True), **refusals(401, 404)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None, **kwargs):
        """The article's transitions, oldest first, 50 a page: who, when, from what to what, and why."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        records = article.transitions.select_related("actor").order_by("created_at", "id")
        page = self.paginate_queryset(records)
        return self.get_paginated_response(TransitionRecordSerializer(page, many=True).data)
