"""One resolver for cited works: Crossref for DOIs, PubMed E-utilities for PMIDs.

``resolver()`` builds it from the settings, or raises ``ResolverOff`` while
``EDITORIAL_RESOLVER_ENABLED`` is false (the default: production machines may have no way
out). Every request has a timeout (``EDITORIAL_RESOLVER_TIMEOUT``), names us politely
(a User-Agent with a contact address, Crossref's ``mailto`` and NCBI's ``tool``/``email``
parameters, as both services ask of API clients), and answers are kept in the default cache
for ``EDITORIAL_RESOLVER_CACHE_SECONDS``. The retraction watch asks with ``fresh=True``.

httpx rather than a service-specific client: one client, one timeout and one User-Agent serve
both services (habanero covers Crossref only; metapub brings its own HTTP stack and cache).
"""

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.cache import cache

from articles.identifiers import normalise_doi

#: Crossref's update types, in the words our records use (WorkUpdateKind's values).
UPDATE_KINDS = {
    "retraction": "retraction",
    "partial_retraction": "retraction",
    "removal": "retraction",
    "withdrawal": "withdrawal",
    "expression_of_concern": "expression_of_concern",
    "correction": "correction",
    "erratum": "correction",
    "corrigendum": "correction",
}
#: How many authors a reference names before "et al." (ICMJE / Vancouver: six).
MAX_AUTHORS = 6


class ResolverError(Exception):
    """The service could not be asked, or did not answer usefully. ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResolverOff(ResolverError):
    """Look-ups are switched off on this site (EDITORIAL_RESOLVER_ENABLED)."""


@dataclass(frozen=True)
class Update:
    """A retraction, correction … of a work (Crossref's ``updated-by``, or PubMed's publication type)."""

    kind: str  # a WorkUpdateKind value
    label: str = ""
    notice_doi: str = ""
    notice_date: str = ""  # ISO date, or ""
    source: str = ""


@dataclass(frozen=True)
class WorkRecord:
    """What a service says about one work. ``found`` False: it does not know the identifier."""

    scheme: str  # "doi" or "pmid"
    identifier: str
    found: bool
    service: str = ""
    title: str = ""
    authors: str = ""
    source: str = ""
    year: int | None = None
    doi: str = ""
    pmid: str = ""
    updates: tuple[Update, ...] = field(default=())

    def metadata(self) -> dict:
        """The reference fields the service filled: authors, title, source, year, doi, pmid."""
        values = {"authors": self.authors, "title": self.title, "source": self.source, "year": self.year}
        values |= {"doi": self.doi, "pmid": self.pmid}
        return {key: value for key, value in values.items() if value not in ("", None)}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "WorkRecord":
        return cls(**{**data, "updates": tuple(Update(**u) for u in data.get("updates", ()))})


def _initials(given: str) -> str:
    return "".join(part[0].upper() for part in re.split(r"[\s.\-]+", given or "") if part)


def vancouver_authors(names: list[str]) -> str:
    """ "Raman P, Ferreira T, et al." from names already written "Family Initials"."""
    names = [name for name in names if name]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + ", et al."
    return ", ".join(names)


def _year(parts) -> int | None:
    try:
        return int(parts["date-parts"][0][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _iso(parts) -> str:
    try:
        values = [int(v) for v in parts["date-parts"][0]]
    except (KeyError, IndexError, TypeError, ValueError):
        return ""
    values += [1] * (3 - len(values))
    try:
        return date(*values[:3]).isoformat()
    except ValueError:
        return ""


def parse_crossref(doi: str, message: dict) -> WorkRecord:
    """A WorkRecord from Crossref's ``/works/{doi}`` message (REST API, message-type "work")."""
    authors = []
    for person in message.get("author", []):
        if person.get("family"):
            authors.append(f"{person['family']} {_initials(person.get('given', ''))}".strip())
        elif person.get("name"):
            authors.append(person["name"])
    year = None
    for key in ("published", "published-print", "published-online", "issued"):
        year = year or _year(message.get(key))
    updates = tuple(
        Update(
            kind=UPDATE_KINDS.get(item.get("type", ""), "other"),
            label=item.get("label", "") or item.get("type", ""),
            notice_doi=(item.get("DOI") or "").lower(),
            notice_date=_iso(item.get("updated")),
            source=item.get("source", ""),
        )
        for item in message.get("updated-by", [])
    )
    titles, journals = message.get("title") or [""], message.get("container-title") or [""]
    return WorkRecord(
        scheme="doi",
        identifier=doi,
        found=True,
        service="Crossref",
        title=" ".join(titles[0].split()),
        authors=vancouver_authors(authors),
        source=journals[0],
        year=year,
        doi=(message.get("DOI") or doi).lower(),
        updates=updates,
    )


def parse_esummary(pmid: str, data: dict) -> WorkRecord:
    """A WorkRecord from E-utilities' ``esummary.fcgi?db=pubmed&retmode=json`` answer."""
    document = data.get("result", {}).get(pmid)
    if not document or document.get("error"):
        return WorkRecord(scheme="pmid", identifier=pmid, found=False, service="PubMed")
    match = re.search(r"\b(1[5-9]\d\d|20\d\d)\b", document.get("pubdate", "") or document.get("epubdate", ""))
    doi = next((a.get("value", "") for a in document.get("articleids", []) if a.get("idtype") == "doi"), "")
    retracted = "Retracted Publication" in document.get("pubtype", [])
    authors = [a.get("name", "") for a in document.get("authors", []) if a.get("authtype", "Author") == "Author"]
    return WorkRecord(
        scheme="pmid",
        identifier=pmid,
        found=True,
        service="PubMed",
        title=(document.get("title") or "").strip().rstrip("."),
        authors=vancouver_authors(authors),
        source=document.get("fulljournalname") or document.get("source", ""),
        year=int(match.group(1)) if match else None,
        doi=doi.lower(),
        pmid=pmid,
        updates=(Update(kind="retraction", label="Retracted Publication", source="pubmed"),) if retracted else (),
    )


class Resolver:
    """Looks works up by DOI or PMID. Raises ResolverError when a service cannot be asked."""

    def __init__(
        self,
        *,
        crossref_url: str,
        pubmed_url: str,
        contact: str,
        timeout: float,
        cache_seconds: int,
        site_url: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.crossref_url, self.pubmed_url = crossref_url.rstrip("/"), pubmed_url.rstrip("/")
        self.contact, self.timeout, self.cache_seconds = contact, timeout, cache_seconds
        self.user_agent = f"EditorialReview/1.0 (+{site_url or 'https://editorial.invalid'}; mailto:{contact})"
        self.transport = transport

    def lookup(self, *, doi: str = "", pmid: str = "", fresh: bool = False) -> WorkRecord:
        """The record of the work a (canonical) DOI or PMID names; the DOI wins if both are given."""
        scheme, identifier = ("doi", doi) if doi else ("pmid", pmid)
        if not identifier:
            raise ResolverError("Give a DOI or a PMID to look up.")
        key = f"editorial:resolver:{scheme}:{identifier}"
        if not fresh:
            cached = cache.get(key)
            if cached is not None:
                return WorkRecord.from_dict(cached)
        record = self._crossref(identifier) if scheme == "doi" else self._pubmed(identifier)
        cache.set(key, record.as_dict(), self.cache_seconds if record.found else min(self.cache_seconds, 3600))
        return record

    def _get(self, service: str, url: str, params: dict) -> httpx.Response:
        try:
            with httpx.Client(
                timeout=self.timeout,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                transport=self.transport,
                follow_redirects=True,
            ) as client:
                response = client.get(url, params=params)
        except httpx.TimeoutException as error:
            raise ResolverError(
                f"{service} did not answer within {self.timeout:g} seconds; try again later."
            ) from error
        except httpx.HTTPError as error:
            raise ResolverError(f"{service} could not be reached ({type(error).__name__}); try again later.") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ResolverError(f"{service} answered with an error ({response.status_code}); try again later.")
        return response

    def _crossref(self, doi: str) -> WorkRecord:
        response = self._get("Crossref", f"{self.crossref_url}/works/{quote(doi, safe='/')}", {"mailto": self.contact})
        if response.status_code == 404:
            return WorkRecord(scheme="doi", identifier=doi, found=False, service="Crossref")
        try:
            message = response.json()["message"]
        except (ValueError, KeyError) as error:
            raise ResolverError(f"Crossref answered in an unexpected shape ({response.status_code}).") from error
        return parse_crossref(normalise_doi(doi), message)

    def _pubmed(self, pmid: str) -> WorkRecord:
        params = {"db": "pubmed", "id": pmid, "retmode": "json", "tool": "editorial-review", "email": self.contact}
        response = self._get("PubMed", f"{self.pubmed_url}/esummary.fcgi", params)
        try:
            data = response.json()
        except ValueError as error:
            raise ResolverError(f"PubMed answered in an unexpected shape ({response.status_code}).") from error
        return parse_esummary(pmid, data)


def resolver() -> Resolver:
    """The site's resolver, from the settings. Raises ResolverOff while look-ups are switched off."""
    if not settings.EDITORIAL_RESOLVER_ENABLED:
        raise ResolverOff("Looking references up is switched off on this site (EDITORIAL_RESOLVER_ENABLED).")
    return Resolver(
        crossref_url=settings.EDITORIAL_CROSSREF_URL,
        pubmed_url=settings.EDITORIAL_PUBMED_URL,
        contact=settings.EDITORIAL_RESOLVER_CONTACT,
        timeout=settings.EDITORIAL_RESOLVER_TIMEOUT,
        cache_seconds=settings.EDITORIAL_RESOLVER_CACHE_SECONDS,
        site_url=settings.SITE_URL,
    )
