"""A reference's identifiers, normalised: DOI, PMID and web address.

Authors paste identifiers in many shapes (``doi:10.1136/BMJ.M1``, ``https://doi.org/…``,
``PMID: 12345``, a PubMed address). Each is stored in one canonical form, so that two
references to the same work compare equal and a retraction found for a DOI reaches every
article that cites it. Recognition comes from idutils (the identifier library of Invenio);
the canonical forms are these:

- DOI: ``10.<registrant>/<suffix>``, percent-decoded, in lower case. DOIs are
  case-insensitive (DOI Handbook, section 2.4), and Crossref returns them in lower case.
- PMID: the decimal number without leading zeros (NLM: PMIDs are positive integers).
- URL: an ``http`` or ``https`` address, trimmed; compared without its fragment, with the
  scheme and host in lower case and no trailing slash.
"""

import re
from urllib.parse import unquote, urlsplit, urlunsplit

import idutils
from django.core.exceptions import ValidationError

DOI_HELP = "A DOI looks like 10.1000/xyz123 (a doi.org address or doi: prefix is fine too)."
PMID_HELP = "A PMID is the number PubMed gives an article, e.g. 31978945 (a PubMed address is fine too)."
URL_HELP = "A web address starting with https:// or http://."

_PMID_PREFIX = re.compile(r"^\s*pmid\s*:?\s*", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")


def normalise_doi(value: str) -> str:
    """The canonical DOI for ``value`` ('' for blank). Raises ValidationError if it is not a DOI."""
    text = (value or "").strip()
    if not text:
        return ""
    if idutils.is_doi(text):
        text = idutils.normalize_doi(text)
    doi = unquote(text).strip().lower()
    if not _DOI_SHAPE.match(doi):
        raise ValidationError(DOI_HELP, code="invalid_doi")
    return doi


def normalise_pmid(value: str) -> str:
    """The canonical PMID for ``value`` ('' for blank). Raises ValidationError if it is not one."""
    text = _PMID_PREFIX.sub("", (value or "").strip())
    if not text:
        return ""
    if not text.isdigit() and idutils.is_pmid(text):
        text = idutils.normalize_pmid(text)
    if not (text.isascii() and text.isdigit()) or int(text) == 0 or len(text.lstrip("0")) > 9:
        raise ValidationError(PMID_HELP, code="invalid_pmid")
    return str(int(text))


def normalise_url(value: str) -> str:
    """The address as stored ('' for blank): trimmed, http or https only. Raises ValidationError."""
    text = (value or "").strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(URL_HELP, code="invalid_url")
    return text


def url_key(url: str) -> str:
    """What two addresses of the same page share: no fragment, lower-case host, no final slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def validate_doi(value: str) -> None:
    normalise_doi(value)


def validate_pmid(value: str) -> None:
    normalise_pmid(value)


def validate_url(value: str) -> None:
    normalise_url(value)


def normalise_reference(data: dict) -> dict:
    """A copy of a reference's fields with its identifiers in canonical form.

    Raises ValidationError naming the field (``{"doi": [...]}``) for an unrecognisable one.
    """
    result = dict(data)
    errors = {}
    for field, normalise in (("doi", normalise_doi), ("pmid", normalise_pmid), ("url", normalise_url)):
        try:
            result[field] = normalise(data.get(field) or "")
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)
    return result


def identity_keys(reference: dict) -> list[tuple[str, str]]:
    """The keys under which a reference names its work: ("doi", …), ("pmid", …), ("url", …).

    Values that do not normalise are compared as typed: duplicates are a warning, not a gate.
    """
    keys = []
    for field, normalise in (("doi", normalise_doi), ("pmid", normalise_pmid), ("url", normalise_url)):
        raw = (reference.get(field) or "").strip()
        if not raw:
            continue
        try:
            value = normalise(raw)
        except ValidationError:
            value = raw
        keys.append((field, url_key(value) if field == "url" else value))
    return keys
