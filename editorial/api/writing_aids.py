"""The API's writing aids: content checks of a text before it is saved, and reference look-up.

Authors and editors only (``permissions.may_create_article``); the same checks and look-up as
the workspace's live panel (``editorial.reads.checks``, ``editorial.workflow.sources``).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from editorial.api.errors import EditorialAPIError, refusals
from editorial.reads import checks
from editorial.workflow import permissions, sources
from editorial.workflow.exceptions import EditorialError

#: The most text and references a checks request may carry: the cost of a check stays bounded.
MAX_TEXT = 200_000
MAX_REFERENCES = 300


class ChecksSerializer(serializers.Serializer):
    """The content checks (editorial.reads.checks): what blocks submission and what only warns."""

    blocks_submission = serializers.BooleanField()
    citations = serializers.DictField(help_text="problems (block submit and approve) and warnings (duplicates)")
    refused_on_save = serializers.ListField(child=serializers.CharField())
    lints = serializers.ListField(child=serializers.DictField(), help_text="code, title, field, message, excerpt")
    sources = serializers.ListField(child=serializers.DictField(), help_text="reference, kind, message")


class CheckedReferenceSerializer(serializers.Serializer):
    """A reference as typed: nothing is validated here, the checks say what is wrong."""

    authors = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    year = serializers.IntegerField(required=False, allow_null=True, default=None)
    doi = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    pmid = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    url = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ChecksRequestSerializer(serializers.Serializer):
    body = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT, trim_whitespace=False
    )
    patient_body = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT, trim_whitespace=False
    )
    references = CheckedReferenceSerializer(many=True, required=False, default=list, max_length=MAX_REFERENCES)


class ChecksView(APIView):
    """Check a text before saving it: the same checks the workspace shows live (authors, editors)."""

    @extend_schema(request=ChecksRequestSerializer, responses={200: ChecksSerializer, **refusals(400, 401, 403)})
    def post(self, request, **kwargs):
        if not permissions.may_create_article(request.user):
            raise PermissionDenied("Only authors and editors write articles.")
        body = ChecksRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(checks.content_checks(body.validated_data).as_dict())


class LookupRequestSerializer(serializers.Serializer):
    doi = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    pmid = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    authors = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    year = serializers.IntegerField(required=False, allow_null=True, default=None)


class LookupSerializer(serializers.Serializer):
    found = serializers.BooleanField()
    service = serializers.CharField()
    identifier = serializers.CharField()
    fields = serializers.DictField(help_text="authors, title, source, year, doi, pmid as the service has them")
    disagreements = serializers.ListField(child=serializers.CharField())
    updates = serializers.ListField(child=serializers.CharField(), help_text="retractions, corrections …")
    message = serializers.CharField()


class ReferenceLookupView(APIView):
    """Fill a reference from its DOI (Crossref) or PMID (PubMed). 503 while look-ups are off."""

    @extend_schema(
        request=LookupRequestSerializer,
        responses={200: LookupSerializer, **refusals(400, 401, 403), 503: refusals(400)[400]},
    )
    def post(self, request, **kwargs):
        if not permissions.may_create_article(request.user):
            raise PermissionDenied("Only authors and editors write articles.")
        body = LookupRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        typed = {name: data[name] for name in ("authors", "title", "source", "year")}
        try:
            return Response(sources.reference_lookup(doi=data["doi"], pmid=data["pmid"], typed=typed))
        except EditorialError as error:
            raise EditorialAPIError(error) from error
