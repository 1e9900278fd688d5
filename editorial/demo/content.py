"""The demo board: people, specialties and articles, written for this product.

References stand for the kinds of sources a real article would cite. A demo must not invent
identifiers of real works: the few that carry a DOI use Crossref's test prefix 10.5555, which
names no real work, and the local stub of Crossref and PubMed (``editorial.sources.stub``)
answers for them.

Each content check has an article that shows it (see README, "The demo board"):
- a dangling citation: the cough article (a draft) cites [3] with two references;
- a dose without a source: the iron article's patient text;
- clinician and patient texts that disagree: the otitis article (amoxicillin);
- a retracted source: the low back pain article (approved) cites a trial the stub reports
  retracted; the retraction watch marks it, and its public reference list says so;
- metadata that disagrees with the record: the iron article's second reference (year).
"""

DEMO_SOURCE = "Demo citation: bibliographic details to be completed by the author"

USERS = [
    # username, first name, last name, roles, superuser
    ("author", "Alex", "Morgan", ["Authors"], False),
    ("reviewer1", "Priya", "Raman", ["Medical Advisory Board"], False),
    ("reviewer2", "Tomás", "Ferreira", ["Medical Advisory Board"], False),
    ("reviewer3", "Grace", "Adeyemi", ["Medical Advisory Board"], False),
    ("reviewer4", "Jonas", "Becker", ["Medical Advisory Board"], False),
    ("editor", "Helen", "Okafor", ["Editors"], False),
    ("auditor", "Sam", "Lindqvist", ["Auditors"], False),
    ("admin", "Site", "Operator", [], True),
]

#: Board members: printed name, credentials, specialties (slugs), short bio.
BOARD = {
    "reviewer1": (
        "Priya Raman",
        "MD",
        ["sports-medicine", "musculoskeletal-medicine"],
        "Sports and exercise medicine physician; leads a hip and groin clinic.",
    ),
    "reviewer2": (
        "Tomás Ferreira",
        "DO",
        ["musculoskeletal-medicine", "primary-care", "sports-medicine"],
        "Family physician with an interest in musculoskeletal care.",
    ),
    "reviewer3": (
        "Grace Adeyemi",
        "PharmD",
        ["primary-care", "cardiology", "endocrinology"],
        "Clinical pharmacist; medicines safety and dosing.",
    ),
    "reviewer4": (
        "Jonas Becker",
        "MD, PhD",
        ["haematology", "cardiology"],
        "Haematologist; anaemia and anticoagulation.",
    ),
}

#: The demo accounts' second factor, documented in the README so that the demo logins work:
#: any authenticator app takes this secret (or ``manage.py demo_totp <user>`` prints the code),
#: and each code below works once per account (``seed_demo`` puts them back). DEBUG only,
#: unless DEMO_TOTP_SECRET is given.
DEMO_TOTP_SECRET = "EDITORIALDEMOTOTPSECRETFORTHEBRD"  # noqa: S105 - documented, DEBUG only
DEMO_BACKUP_CODES = ["demo0001", "demo0002", "demo0003", "demo0004", "demo0005"]

SPECIALTIES = [
    ("Sports medicine", "sports-medicine"),
    ("Primary care", "primary-care"),
    ("Haematology", "haematology"),
    ("Cardiology", "cardiology"),
    ("Endocrinology", "endocrinology"),
    ("Musculoskeletal medicine", "musculoskeletal-medicine"),
    ("Paediatrics", "paediatrics"),
]


def ref(title: str, authors: str = "", source: str = DEMO_SOURCE, year=None, doi: str = "") -> dict:
    return {"authors": authors, "title": title, "source": source, "year": year, "doi": doi}


HIP = {
    "title": "What is the treatment for hip overuse injury?",
    "slug": "what-is-the-treatment-for-hip-overuse-injury",
    "specialty": "sports-medicine",
    "summary": (
        "Most hip overuse injuries settle with a structured, progressive exercise programme "
        "and a temporary reduction of the load that provoked the pain. Short courses of pain "
        "relief can help people keep exercising; injections are kept for pain that persists "
        "despite good rehabilitation."
    ),
    "body": """## From the Guidelines

Structured exercise therapy is the first-line treatment for overuse-related hip pain: it reduces pain and improves function, and it should come before reliance on oral NSAIDs or paracetamol [1].

- **Relative rest.** Cut back or pause the provoking activity for one to two weeks rather than stopping all activity.
- **Analgesia.** A short course of an oral NSAID, such as ibuprofen 400–600 mg three times daily with food or naproxen 500 mg twice daily, can ease pain enough to allow rehabilitation when there is no contraindication [1].
- **Cold.** Ice for 15–20 minutes several times a day may help in the first days.

### What the exercise programme should include

- Progressive strengthening of the hip abductors, extensors and rotators (for example bridges and clamshells), with gentle stretching of the hip flexors and rotators.
- A written dose: load, repetitions and sets, session frequency, programme length and rest between sessions. Reporting templates such as CERT and TIDieR list what to specify [1].
- Return to sport at roughly half of the previous intensity, adding about 10–15% a week while symptoms stay settled.

### When to think again

- Pain that persists beyond 4–6 weeks of adequate rehabilitation warrants reassessment; imaging or a corticosteroid injection may then be considered.
- Recurrence is common when training errors and biomechanical contributors are left unaddressed.

## From the Research

### Non-operative management

- A review of 49 studies on non-arthritic hip pain found consistent support for education, activity modification, limiting aggravating activities, an individualised physiotherapy programme and home exercise [2].
- Rehabilitation should target neuromuscular control of the hip and lumbopelvic region [2].
- Higher-quality osteoarthritis guidelines agree on education, exercise and weight management, with NSAIDs as an adjunct, and consistently advise against arthroscopy [6].

### Injections

- Intra-articular corticosteroid injection relieves pain and improves function in hip osteoarthritis for up to about 12 weeks [3].
- Platelet-rich plasma appears safe in hip osteoarthritis, but it has not been shown to outperform alternatives such as hyaluronic acid [4].
- A network meta-analysis found intra-articular saline as effective for hip osteoarthritis pain as corticosteroid, platelet-rich plasma and hyaluronic acid: a reminder of the large placebo response to injections [5].
- Hyaluronic acid and stem-cell injections are not consistently recommended [6].
""",
    "patient_body": """## What usually helps

Most hip pain that comes from overuse gets better with the right exercises and a short break from whatever made it worse.

- **Ease off, don't stop.** Cut back on the activity that brings on the pain for a week or two. Gentle movement is good for you.
- **Exercises are the main treatment.** A physiotherapist can show you exercises that strengthen the muscles around your hip, such as bridges and clamshells, and some stretches. Doing them regularly is what makes the difference [1].
- **Pain relief if you need it.** Anti-inflammatory tablets such as ibuprofen, or paracetamol, can make exercise easier for a short time. Ask a pharmacist or doctor first, especially if you have stomach, kidney or heart problems [1].
- **Go back gradually.** When the pain settles, restart your sport at about half your usual effort and build up a little each week.

## When to see a doctor

See a doctor or physiotherapist if the pain is not improving after 4–6 weeks, if it wakes you at night, or if you cannot put weight on your leg. Injections are sometimes offered when exercises have not helped enough, but they do not work for everyone [3][5].
""",
    "references": [
        ref(
            "Network meta-analysis of randomised controlled trials comparing exercise therapy with oral NSAIDs and paracetamol for musculoskeletal pain"
        ),
        ref("Non-operative management of non-arthritic hip pain: a literature review of 49 studies"),
        ref("Intra-articular corticosteroid injection for hip osteoarthritis: pain relief and function"),
        ref("Platelet-rich plasma injection for hip osteoarthritis: efficacy and safety"),
        ref(
            "Intra-articular saline compared with corticosteroid, platelet-rich plasma and hyaluronic acid for hip osteoarthritis pain: a systematic review and network meta-analysis"
        ),
        ref("Quality and consistency of clinical practice guidelines for hip and knee osteoarthritis"),
    ],
    # (service, acting user, reason)
    "steps": [
        ("submit", "author", "Ready for the board: six sources, both language versions."),
        ("invite", "editor", ["reviewer3", "reviewer4"]),
    ],
}


def short_article(title, slug, specialty, summary, guideline, research, patient, references, steps):
    return {
        "title": title,
        "slug": slug,
        "specialty": specialty,
        "summary": summary,
        "body": f"## From the Guidelines\n\n{guideline}\n\n## From the Research\n\n{research}\n",
        "patient_body": patient,
        "references": references,
        "steps": steps,
    }


OTITIS_GUIDELINE = (
    "- Offer regular paracetamol or ibuprofen for pain [1].\n"
    "- Consider no antibiotic or a delayed prescription for most children [1].\n"
    "- When an antibiotic is needed, amoxicillin three times a day for 5 days is the first choice [1]."
)
OTITIS_AT_ONCE = (
    "\n- Give an antibiotic at once to children who are systemically very unwell, those under two years "
    "with infection in both ears, and those with discharge from the ear [1]."
)
OTITIS_RESEARCH = (
    "- Trials show antibiotics shorten pain only slightly and cause side effects such as diarrhoea and rash [2]."
)

OTHERS = [
    short_article(
        "When should adults with an acute cough be given antibiotics?",
        "when-should-adults-with-an-acute-cough-be-given-antibiotics",
        "primary-care",
        "Most acute coughs are viral and settle within three weeks without antibiotics. "
        "Antibiotics are for people who are systemically very unwell, at high risk of "
        "complications, or have signs of pneumonia.",
        "- Offer self-care advice and a realistic timeline: a cough commonly lasts two to three weeks [1].\n"
        "- Consider an antibiotic for people who are systemically very unwell, have signs of a more serious illness, or are at high risk of complications [1].",
        "- Trials in uncomplicated lower respiratory tract infection show little benefit from antibiotics and a measurable rate of side effects [2].",
        "Most coughs are caused by viruses and get better on their own within about three weeks. "
        "Antibiotics do not help with viruses. See a doctor if you feel very unwell, are short of breath, cough up blood, or the cough lasts more than three weeks [1]. "
        "A spoonful of honey can ease a cough in adults [3].",
        [
            ref("Guideline on antimicrobial prescribing for acute cough"),
            ref("Antibiotics for uncomplicated lower respiratory tract infection in adults: randomised trial evidence"),
        ],
        [],
    ),
    short_article(
        "How is iron-deficiency anaemia managed in adults?",
        "how-is-iron-deficiency-anaemia-managed-in-adults",
        "haematology",
        "Treat the deficiency with oral iron, usually once daily or on alternate days, and "
        "find its cause: in men and in post-menopausal women that means looking for "
        "gastrointestinal blood loss.",
        "- Start oral iron, one tablet daily or on alternate days; alternate-day dosing may be absorbed better and tolerated better [1].\n"
        "- Investigate the cause; refer urgently for gastrointestinal investigation when the pattern suggests blood loss [1].",
        "- Studies of iron absorption suggest hepcidin rises after a dose, which is why alternate-day schedules are studied [2].",
        "Iron-deficiency anaemia means your blood is low in iron. Iron tablets usually fix it within a few months. "
        "A usual tablet is ferrous sulfate 200 mg, taken once a day or every other day. "
        "Your doctor will also look for the reason you are low in iron, because that matters as much as the treatment [1].",
        [
            ref("Guideline for the management of iron deficiency anaemia in adults"),
            ref(
                "Iron absorption from daily and alternate-day oral iron supplements",
                authors="Marchetti S, Huber D",
                source="Demonstration Journal of Haematology",
                year=2019,  # the record says 2017: the look-up and the board's page flag it
                doi="10.5555/demo.iron-alternate-day",
            ),
        ],
        [
            ("submit", "author", "First draft complete."),
            ("invite_past", "editor", ["reviewer3"]),
            ("expire", "reviewer3"),
            ("invite", "editor", ["reviewer4", "reviewer2"]),
            ("accept", "reviewer4", "none"),
            ("accept", "reviewer2", "none"),
            ("review", "reviewer4", "approve", "Accurate; the alternate-day dosing evidence is fairly summarised.", ""),
        ],
    ),
    short_article(
        "What are the first-line treatments for plantar heel pain?",
        "what-are-the-first-line-treatments-for-plantar-heel-pain",
        "musculoskeletal-medicine",
        "Plantar heel pain usually improves with stretching, supportive footwear and load "
        "management; most people recover within a year.",
        "- Recommend calf and plantar fascia stretching, supportive footwear and a gradual return to impact activity [1].",
        "- Taping and orthoses give short-term relief in some trials [2].",
        "Heel pain under the foot often gets better with stretches and good shoes. It can take months, but most people recover [1].",
        [
            ref("Clinical practice guideline for heel pain"),
            ref("Taping and foot orthoses for plantar heel pain: systematic review"),
        ],
        [
            ("submit", "author", "Submitted for the spring update."),
            ("invite", "editor", ["reviewer1", "reviewer2", "reviewer3"]),
            ("decline", "reviewer3", "Away until next month: please ask another member."),
            ("accept", "reviewer1", "none"),
            (
                "accept",
                "reviewer2",
                ("declared", "I have consulted for a maker of foot orthoses in the last two years."),
            ),
            (
                "review",
                "reviewer1",
                "minor_revisions",
                "Say how long recovery usually takes, and when imaging is warranted.",
                "Sound overall; the author should not overstate orthoses.",
            ),
            ("review", "reviewer2", "major_revisions", "The orthoses section needs the trial evidence too.", ""),
            (
                "request_changes",
                "editor",
                "Please add how long recovery usually takes in the text for clinicians, "
                "and say which patients should be referred for imaging.",
            ),
        ],
    ),
    short_article(
        "How is acute low back pain managed in primary care?",
        "how-is-acute-low-back-pain-managed-in-primary-care",
        "primary-care",
        "Reassure, keep people active and screen for red flags; imaging is not needed for "
        "most people with acute low back pain.",
        "- Advise staying active and continuing normal activities as far as possible [1].\n"
        "- Do not offer routine imaging without red flags [1].",
        "- Trials show staying active works at least as well as bed rest for recovery [2].",
        "Most back pain gets better within a few weeks. Keeping moving helps more than resting in bed. "
        "See a doctor urgently if you have numbness around your bottom, trouble passing urine, or weakness in your legs [1].",
        [
            ref("Guideline on low back pain and sciatica in over 16s"),
            ref(
                "Advice to stay active compared with bed rest for acute low back pain: a randomised controlled trial",
                authors="Lindahl M, Okoro B, Sato K",
                source="Demonstration Journal of Musculoskeletal Research",
                year=2019,
                doi="10.5555/demo.stay-active-trial",  # retracted, says the stub
            ),
        ],
        [
            ("submit", "author", "Ready."),
            ("invite", "editor", ["reviewer1", "reviewer2"]),
            ("accept", "reviewer1", "none"),
            ("accept", "reviewer2", "none"),
            ("review", "reviewer1", "approve", "Clear and accurate.", ""),
            ("review", "reviewer2", "approve", "Accurate; the patient text reads well.", ""),
            ("approve", "editor", "Approved after review by the board."),
        ],
    ),
    short_article(
        "Should aspirin be used for primary prevention of cardiovascular disease?",
        "should-aspirin-be-used-for-primary-prevention-of-cardiovascular-disease",
        "cardiology",
        "For most people without established cardiovascular disease, the bleeding risk of "
        "daily aspirin outweighs its benefit.",
        "- Do not routinely offer aspirin for primary prevention [1].",
        "- Large trials found fewer cardiovascular events offset by more major bleeding [2].",
        "If you have never had a heart attack or stroke, daily aspirin is usually not recommended, because it raises the risk of bleeding [1].",
        [
            ref("Guideline on cardiovascular disease risk assessment and reduction"),
            ref("Aspirin for primary prevention: large randomised trials"),
        ],
        [
            ("submit", "author", "Ready."),
            ("invite", "editor", ["reviewer3", "reviewer4"]),
            ("accept", "reviewer3", "none"),
            ("accept", "reviewer4", "none"),
            ("review", "reviewer3", "approve", "Clear and accurate.", ""),
            ("review", "reviewer4", "approve", "Accurate; the patient text reads well.", ""),
            ("approve", "editor", "Approved."),
            (
                "retract",
                "editor",
                "Retracted pending an update: new guidance on older adults changes the recommendations.",
            ),
        ],
    ),
    short_article(
        "Does vitamin C prevent the common cold?",
        "does-vitamin-c-prevent-the-common-cold",
        "primary-care",
        "Regular vitamin C does not prevent colds in the general population.",
        "- No guideline recommends vitamin C to prevent colds [1].",
        "- Pooled trials show no reduction in how often colds occur [2].",
        "Taking vitamin C every day does not stop you catching colds [2].",
        [
            ref("Guideline statement on supplements for respiratory infections"),
            ref("Vitamin C for preventing and treating the common cold: systematic review"),
        ],
        [
            ("submit", "author", "Short answer, for the FAQ series."),
            ("reject", "editor", "Out of scope for the board: the FAQ series is covered elsewhere."),
        ],
    ),
    short_article(
        "Is intermittent fasting safe for people with type 2 diabetes?",
        "is-intermittent-fasting-safe-for-people-with-type-2-diabetes",
        "endocrinology",
        "Intermittent fasting can help some people lose weight, but those on insulin or "
        "sulfonylureas need their medicines adjusted to avoid hypoglycaemia.",
        "- Review glucose-lowering medicines before fasting begins [1].",
        "- Short trials show weight loss similar to continuous energy restriction [2].",
        "If you take medicines for diabetes, talk to your diabetes team before you try fasting, because your blood sugar could go too low [1].",
        [
            ref("Consensus statement on fasting in diabetes"),
            ref("Intermittent compared with continuous energy restriction in type 2 diabetes"),
        ],
        [
            ("submit", "author", "Submitted."),
            ("withdraw", "author", "Withdrawn: a specialist dietitian will co-write a new version."),
        ],
    ),
    short_article(
        "How is mild hypertension managed in adults under 60?",
        "how-is-mild-hypertension-managed-in-adults-under-60",
        "cardiology",
        "Confirm the diagnosis with out-of-office readings, assess overall cardiovascular "
        "risk, and start with lifestyle measures; medicines depend on risk and target organ damage.",
        "- Confirm raised clinic readings with ambulatory or home monitoring [1].",
        "- Trials of lifestyle change show modest but real falls in blood pressure [2].",
        "A single high reading is not enough to diagnose high blood pressure. Your doctor may ask you to measure it at home [1].",
        [
            ref("Guideline on hypertension in adults: diagnosis and management"),
            ref("Lifestyle interventions for lowering blood pressure: meta-analysis"),
        ],
        [
            ("submit", "author", "Ready."),
            ("invite", "editor", ["reviewer3", "reviewer4"]),
            ("accept", "reviewer3", "none"),
            ("accept", "reviewer4", "none"),
            ("review", "reviewer3", "approve", "Clear and accurate.", ""),
            ("review", "reviewer4", "approve", "Accurate; the patient text reads well.", ""),
            ("approve", "editor", "Approved."),
            ("revise", "author", "Updating the thresholds section."),
        ],
    ),
    short_article(
        "What is the first-line treatment for acute otitis media in children?",
        "what-is-the-first-line-treatment-for-acute-otitis-media-in-children",
        "paediatrics",
        "Most children recover without antibiotics: offer pain relief, and consider a no or "
        "delayed antibiotic prescription unless the child is very unwell or at high risk.",
        OTITIS_GUIDELINE,
        OTITIS_RESEARCH,
        "Ear infections usually get better on their own within about three days. Pain relief helps your child feel better [1]. "
        "If your child does need an antibiotic, it is usually amoxicillin, taken twice a day for a week [1].",
        [
            ref("Guideline on antimicrobial prescribing for acute otitis media"),
            ref("Antibiotics for acute otitis media in children: systematic review"),
        ],
        [
            ("submit", "author", "First version."),
            ("invite", "editor", ["reviewer1", "reviewer2"]),
            ("accept", "reviewer1", "none"),
            ("accept", "reviewer2", "none"),
            (
                "review",
                "reviewer1",
                "minor_revisions",
                "Name the children who should get antibiotics at once: those under two with infection in both ears, "
                "and those with discharge from the ear.",
                "",
            ),
            ("review", "reviewer2", "approve", "Accurate.", ""),
            ("request_changes", "editor", "Please add which children need antibiotics straight away."),
            (
                "edit",
                "author",
                {
                    "body": "## From the Guidelines\n\n"
                    + OTITIS_GUIDELINE
                    + OTITIS_AT_ONCE
                    + "\n\n## From the Research\n\n"
                    + OTITIS_RESEARCH
                    + "\n"
                },
                "Added the children who need antibiotics at once.",
            ),
            ("resubmit", "author", "Added the children who need antibiotics at once, as asked."),
            ("accept", "reviewer1", "none"),
            ("accept", "reviewer2", "none"),
        ],
    ),
]

ARTICLES = [HIP, *OTHERS]
