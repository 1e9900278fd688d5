"""The API at /api/v1/: the same services and the same policy as the workspace."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response

from articles.models import Article, Reference, Specialty
from editorial.models import TransitionRecord
from editorial.workflow import permissions, services
from editorial.workflow.exceptions import EditorialError


class EditorialAPIError(APIException):
    def __init__(self, error: EditorialError) -> None:
        self.status_code = error.http_status
        super().__init__(detail={"detail": error.message, "code": error.code}, code=error.code)


class ReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reference
        fields = ("authors", "title", "source", "year", "doi", "pmid", "url")


class TransitionRecordSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = TransitionRecord
        fields = ("transition", "from_status", "to_status", "actor", "reason", "review_round", "created_at")


class ArticleSerializer(serializers.ModelSerializer):
    specialty = serializers.SlugRelatedField(
        slug_field="slug", queryset=Specialty.objects.all(), required=False, allow_null=True
    )
    author = serializers.CharField(source="author.username", read_only=True)
    references = ReferenceSerializer(many=True, required=False)
    available_transitions = serializers.SerializerMethodField()
    change_reason = serializers.CharField(write_only=True, required=False, allow_blank=True)

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
        )
        read_only_fields = (
            "status",
            "review_round",
            "created_at",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
        )
        extra_kwargs = {"slug": {"required": False}, "row_version": {"required": False}}

    def to_representation(self, article):
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
        validated.pop("row_version", None)
        try:
            return services.article_create(
                actor=self.context["request"].user, fields=validated, references=references, reason=reason
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error

    def update(self, article, validated):
        references = validated.pop("references", None)
        reason = validated.pop("change_reason", "")
        expected = validated.pop("row_version", None)
        try:
            return services.article_update(
                article=article,
                actor=self.context["request"].user,
                fields=validated,
                references=references,
                reason=reason,
                expected_row_version=expected,
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error


class TransitionRequestSerializer(serializers.Serializer):
    transition = serializers.ChoiceField(choices=sorted(services.TRANSITION_SERVICES))
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    row_version = serializers.IntegerField(
        help_text="The row_version of the copy you acted on; a stale copy is refused (409)."
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        style={"input_type": "password"},
        help_text="approve only: the editor's password, which signs the decision.",
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="approve only: why an open reject recommendation is overridden.",
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
        queryset = Article.objects.select_related("author", "specialty").prefetch_related("references")
        return permissions.visible_articles(self.request.user, queryset).order_by("-updated_at", "-id")

    def perform_create(self, serializer):
        if not permissions.may_create_article(self.request.user):
            raise PermissionDenied("Only authors and editors can create articles.")
        serializer.save()

    @extend_schema(request=TransitionRequestSerializer, responses=ArticleSerializer)
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        """Fire a transition: 403 for the wrong person, 409 for the wrong state or a stale copy."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        body = TransitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
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
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        article = self.get_queryset().get(pk=article.pk)
        return Response(self.get_serializer(article).data, status=status.HTTP_200_OK)

    @extend_schema(responses=TransitionRecordSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """The article's transitions: who, when, from what to what, and why."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        records = article.transitions.select_related("actor").order_by("created_at", "id")
        return Response(TransitionRecordSerializer(records, many=True).data)
