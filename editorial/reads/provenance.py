"""AI provenance as the doors show it: the facts kept with a version, and the machine draft's diff."""

from articles.diff import LABELS, diff_words
from articles.models import Article, ArticleVersion
from articles.provenance import AIProvenance


def of_version(version: ArticleVersion | None) -> AIProvenance | None:
    """The provenance kept with ``version`` (None: no machine was declared for it), one query."""
    if version is None:
        return None
    return AIProvenance.objects.filter(version=version).first()


def machine_drafted_versions(article: Article) -> list[AIProvenance]:
    """The provenance of each of ``article``'s submitted versions that a machine drafted, newest first."""
    return list(
        AIProvenance.objects.filter(article=article, version__isnull=False)
        .select_related("version")
        .order_by("-version__review_round")
    )


def machine_changes(machine: AIProvenance) -> list[dict]:
    """For each machine-drafted section: the word diff from the machine's text to the version's.

    In: provenance kept with a version (``machine.version`` set). Out: one dict per drafted
    section, in page order: ``label``, ``html`` (<del>/<ins>, escaped), ``coarse`` (the time
    budget of ``articles.diff`` ran out) and ``unchanged`` (the version kept the machine's text).
    """
    content = machine.version.content if machine.version_id else {}
    changes = []
    for key in LABELS:
        if key not in machine.sections:
            continue
        before, after = machine.machine_draft.get(key, ""), content.get(key, "")
        diff = diff_words(before, after)
        changes.append({"label": LABELS[key], "html": diff.html, "coarse": diff.coarse, "unchanged": before == after})
    return changes
