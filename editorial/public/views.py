"""Public pages and the health check.

What readers see is decided in ``editorial.reads.public``; these views render it, and the
readers' pages are served through ``editorial.public.cache``.
"""

import json
import logging
import re

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from articles.models import Specialty
from articles.rendering import render_markdown
from editorial.public.cache import public_cache
from editorial.reads.public import (
    IndexFilters,
    PublicPage,
    ReaderStatus,
    public_index,
    public_page,
    reader_status,
    update_in_review,
)

logger = logging.getLogger(__name__)


def favicon(request):
    """The site's icon, wherever a browser looks for it."""
    return redirect(static("editorial/favicon.svg"), permanent=True)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


# --- The pages ------------------------------------------------------------------------------

TRACKER_STEPS = (
    (ReaderStatus.SUBMITTED, "Submitted"),
    (ReaderStatus.UNDER_REVIEW, "Under Review"),
    (ReaderStatus.APPROVED, "Approved"),
)

# Written for JSON inside <script>: "</script>" or "<!--" in a title cannot end the element.
_JSON_IN_SCRIPT = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def tracker(status: str) -> list[dict]:
    """The three steps readers see, each done, current or still to come."""
    order = [step for step, _ in TRACKER_STEPS]
    current = order.index(status)
    return [
        {
            "label": label,
            "state": "done" if index < current else "current" if index == current else "upcoming",
            "final": index == current == len(order) - 1,
        }
        for index, (_, label) in enumerate(TRACKER_STEPS)
    ]


def medical_web_page(page: PublicPage, url: str) -> SafeString:
    """schema.org MedicalWebPage for an approved article, safe to put inside a <script>."""
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": page.title,
        "headline": page.title,
        "description": page.summary,
        "url": url,
        "inLanguage": "en",
        "dateModified": page.last_updated.isoformat() if page.last_updated else None,
        "lastReviewed": page.last_reviewed.date().isoformat() if page.last_reviewed else None,
        "reviewedBy": [
            {"@type": "Person", "name": signer.printed_name, "honorificSuffix": signer.credentials}
            for signer in page.signers
        ],
    }
    if page.specialty:
        data["about"] = {"@type": "Thing", "name": page.specialty}
    if page.ai_provenance is not None:
        data |= ai_assistance(page)
    text = json.dumps({key: value for key, value in data.items() if value is not None}, ensure_ascii=False)
    return mark_safe(text.translate(_JSON_IN_SCRIPT))  # noqa: S308 - every "<", ">" and "&" escaped just above


def ai_credit(page: PublicPage) -> str:
    """The line readers see: "Drafted with AI assistance (tool, model) · reviewed and approved by …"."""
    machine = page.ai_provenance
    line = f"Drafted with AI assistance ({machine.tool}, {machine.model_name})"
    if page.status == ReaderStatus.APPROVED and page.signers:
        line += " · reviewed and approved by " + ", ".join(signer.signed_name for signer in page.signers)
    elif page.status == ReaderStatus.APPROVED:
        line += " · reviewed and approved by our Medical Advisory Board"
    else:
        line += " · not yet reviewed by our Medical Advisory Board"
    return line


def ai_assistance(page: PublicPage) -> dict:
    """The same facts for schema.org: the IPTC digital source type (human and machine together),
    the tool and model as a contributing SoftwareApplication, and the readers' credit line."""
    machine = page.ai_provenance
    model = " ".join(part for part in (machine.model_name, machine.model_version) if part)
    return {
        "digitalSourceType": "https://schema.org/CompositeWithTrainedAlgorithmicMediaDigitalSource",
        "contributor": {
            "@type": "SoftwareApplication",
            "name": machine.tool,
            "softwareVersion": model,
            "description": "Drafted: " + ", ".join(machine.section_labels),
        },
        "creditText": ai_credit(page),
    }


def article_response(request, slug: str):
    """The public page of the article at ``slug``, rendered now (``article_detail`` caches it).

    Raises Http404 when no article at that address is public.
    """
    page = public_page(slug)
    if page is None:
        raise Http404("There is no public article at this address.")
    url = settings.SITE_URL + reverse("article-detail", args=[page.article.slug])
    context = {
        "page": page,
        "article": page.article,
        "canonical_url": url,
        # The lints check that both are there (articles.lints, page_disclaimer).
        "disclaimer": settings.EDITORIAL_DISCLAIMER,
        "emergency_advice": settings.EDITORIAL_EMERGENCY_ADVICE,
    }
    if page.status != ReaderStatus.RETRACTED:
        context |= {
            "steps": tracker(page.status),
            "body_html": render_markdown(page.body),
            "patient_html": render_markdown(page.patient_body),
            "json_ld": medical_web_page(page, url) if page.status == ReaderStatus.APPROVED else "",
            "ai_credit": ai_credit(page) if page.ai_provenance is not None else "",
        }
    return render(request, "editorial/public/article.html", context)


@public_cache()
def article_detail(request, slug):
    return article_response(request, slug)


INDEX_PAGE_SIZE = 25


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _search_term(request, name: str, limit: int) -> str:
    """A reader's search word, without control characters (PostgreSQL refuses NUL)."""
    return _CONTROL_CHARACTERS.sub("", request.GET.get(name, "")).strip()[:limit]


@public_cache(params=("specialty", "status", "page"), uncached=("q",))
def article_index(request):
    filters = IndexFilters(
        q=_search_term(request, "q", 200),
        specialty=_search_term(request, "specialty", 100),
        status=_search_term(request, "status", 30),
    )
    page = Paginator(public_index(filters), INDEX_PAGE_SIZE).get_page(request.GET.get("page"))
    for article in page.object_list:
        article.reader_status = reader_status(article)
        article.reader_status_label = ReaderStatus.LABELS[article.reader_status]
        article.update_in_review = update_in_review(article)  # the article page's rule, not a look-alike
    query = {name: value for name, value in vars(filters).items() if value}
    context = {
        "page_obj": page,
        "filters": filters,
        "filtered": bool(query),
        "query": query,
        "specialties": Specialty.objects.order_by("name").values("slug", "name"),
        "statuses": ReaderStatus.LABELS.items(),
        "nav": "articles",
    }
    return render(request, "editorial/public/index.html", context)


@public_cache()
def editorial_policy(request):
    context = {
        "quorum": settings.EDITORIAL_APPROVAL_QUORUM,
        "rereview_months": settings.EDITORIAL_REREVIEW_MONTHS,
        "public_from_submission": settings.EDITORIAL_PUBLIC_FROM == "submitted",
        "nav": "policy",
    }
    return render(request, "editorial/public/policy.html", context)
