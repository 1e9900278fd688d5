"""Demo content for issue-era features: an approved article a machine drafted, and readers' questions."""

from editorial.demo.content import ref, short_article

#: What the demo pipeline declared when it drafted the article below (articles.provenance).
MACHINE_PROVENANCE = {
    "tool": "MedDraft pipeline (demo)",
    "model": "gpt-4o",
    "model_version": "2024-08-06",
    "run_id": "demo-run-0001",
    "generated_at": "2026-01-12T09:30:00+00:00",
    "sections": ["summary", "body", "patient_body"],
}

MACHINE_DRAFTED = {
    **short_article(
        "How should an acute ankle sprain be managed in the first weeks?",
        "how-should-an-acute-ankle-sprain-be-managed-in-the-first-weeks",
        "sports-medicine",
        "Most ankle sprains recover with a short period of protection, early weight-bearing as "
        "tolerated and exercise therapy; rigid immobilisation is rarely needed.",
        "- Assess with the Ottawa ankle rules to decide on imaging [1].\n"
        "- Advise early weight-bearing as tolerated and a functional support rather than a cast [1].",
        "- Trials show exercise therapy reduces the risk of a recurrent sprain [2].",
        "Most sprained ankles get better in a few weeks. Start walking on it as soon as the pain allows, "
        "and do the exercises your clinician suggests to stop it happening again [1].",
        [
            ref("Guideline on the management of acute ankle sprains"),
            ref("Exercise therapy to prevent recurrent ankle sprains: randomised trial evidence"),
        ],
        [
            (
                "edit",
                "author",
                {
                    "body": "## From the Guidelines\n\n"
                    "- Assess with the Ottawa ankle rules to decide on imaging [1].\n"
                    "- Advise early weight-bearing as tolerated and a functional brace or tape "
                    "rather than a cast [1].\n\n"
                    "## From the Research\n\n"
                    "- Trials show supervised exercise therapy reduces the risk of a recurrent sprain [2].\n"
                },
                "Checked the machine draft against both sources; made the advice on supports specific.",
            ),
            ("submit", "author", "Machine-drafted, checked by the author."),
            ("invite", "editor", ["reviewer1", "reviewer2"]),
            ("accept", "reviewer1", "none"),
            ("accept", "reviewer2", "none"),
            ("review", "reviewer1", "approve", "Checked each machine-drafted claim against its source.", ""),
            ("review", "reviewer2", "approve", "Accurate; the patient text reads well.", ""),
            ("approve", "editor", "Approved after review by the board."),
        ],
    ),
    "provenance": MACHINE_PROVENANCE,
}

#: Readers' follow-up questions (slug of the page asked on, the question, commissioned?).
QUESTIONS = [
    (
        "how-should-an-acute-ankle-sprain-be-managed-in-the-first-weeks",
        "How soon can I go back to running after a sprained ankle?",
        True,
    ),
    (
        "how-should-an-acute-ankle-sprain-be-managed-in-the-first-weeks",
        "Should I use ice or heat on a sprained ankle?",
        False,
    ),
]
