"""Generated company playbooks for the scale benchmark (issue 29): uncurated Markdown, as a
go-to-market organisation writes it (pricing approvals, lead routing, events, enablement,
territories, compensation, tools...), seeded, so a size always yields the same files.

    generate(passages, out_dir, seed=29) -> list of the files written

Every paragraph, list item and table row is written to be exactly one passage as the loader
counts them (``bot.passages``: at most 70 words, split only between paragraphs), and no two
are the same text, so ``passages`` is the number ``split_knowledge`` finds in the files. A
document holds 40 to 160 passages (2,000 to 8,000 words), the size of a real team playbook.
The words come from templates and word lists; each slot is drawn anew, so the vocabulary
varies from passage to passage without reading like the article.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

MAX_WORDS = 66  # under bot.passages.MAX_PASSAGE_WORDS (70): one unit, one passage
PER_DOCUMENT = (40, 160)

WORDS = {
    "S": "Account Executive, Enterprise Account Executive, Regional Sales Director, VP of Sales,"
    " Sales Development Representative, Business Development Representative, Sales Engineer,"
    " Solutions Consultant, Channel Account Manager, Key Account Manager, Inside Sales Manager,"
    " Chief Revenue Officer, Sales Operations Manager, Deal Desk Analyst, Customer Success Manager,"
    " Renewals Manager, Area Vice President, Sales Manager, Strategic Account Director",
    "M": "Demand Generation Manager, Field Marketing Manager, Product Marketing Manager,"
    " Content Marketing Lead, Marketing Operations Manager, Events Manager, Brand Director,"
    " Head of Marketing, Partner Marketing Manager, Digital Marketing Specialist, Communications"
    " Manager, Chief Marketing Officer, Growth Marketing Lead, Web Producer, Analyst Relations Lead,"
    " Customer Marketing Manager, Campaign Manager, Social Media Manager",
    "O": "Finance Controller, CFO, Legal Counsel, Revenue Operations Director, Enablement Lead,"
    " Compensation Analyst, HR Business Partner, Procurement Lead, Security Reviewer, Pricing"
    " Committee, Data Protection Officer, Chief Executive, Billing Specialist, Solutions Architect",
    "T": "Salesforce, HubSpot, Marketo, Outreach, Salesloft, Gong, Highspot, Seismic, Clari, LeanData,"
    " ZoomInfo, Chili Piper, DocuSign, Xactly, CaptivateIQ, Asana, Jira, Confluence, Notion, Tableau,"
    " Looker, 6sense, Demandbase, Drift, Zendesk, Gainsight, NetSuite, Ironclad, Loopio, Bizzabo",
    "R": "North America, EMEA, APAC, LATAM, DACH, the Nordics, the UK and Ireland, ANZ, Benelux,"
    " Iberia, the US West, the US East, the Central region, Japan, India, France, Canada, the Middle East,"
    " Southeast Asia, Brazil, Mexico, Italy, Poland",
    "G": "small business, mid-market, enterprise, strategic, public sector, commercial, named account,"
    " startup, healthcare, financial services, retail, manufacturing, education, logistics, energy,"
    " media, nonprofit, government, telecom, hospitality",
    "P": "Atlas, Beacon, Cinder, Drift Guard, Ember, Fathom, Granite, Harbor, Iris, Juniper, Keystone,"
    " Lumen, Meridian, Nimbus, Orbit, Pioneer, Quarry, Ridge, Summit, Tandem, Umbra, Vector, Willow,"
    " Zephyr",
    "E": "the annual user conference, a regional roadshow, an executive dinner, the partner summit,"
    " a trade show, a webinar series, the customer advisory board, a hackathon, an industry meetup,"
    " a field event, a product launch event, a virtual summit, a golf day, a breakfast briefing",
    "MEET": "weekly pipeline review, monthly revenue council, quarterly business review, Monday"
    " forecast call, deal review, campaign stand-up, territory planning session, win/loss review,"
    " enablement office hours, marketing and sales alignment meeting, account planning workshop",
    "W": "Monday, Tuesday, Wednesday, Thursday, Friday",
    "MO": "January, February, March, April, May, June, July, August, September, October, November, December",
    "CH": "#deal-desk, #revops-help, #field-marketing, #sales-enablement, #pricing-approvals,"
    " #lead-routing, #events-team, #comp-questions, #partner-deals, #brand-review, #content-requests,"
    " #territory-changes, #win-wire",
    "DOC": "price book, rules of engagement, battlecard, discovery guide, mutual action plan, proposal"
    " template, order form, master services agreement, security questionnaire, case study, one-pager,"
    " pitch deck, ROI calculator, commission plan, territory map, campaign brief",
    "STAGE": "Inquiry, Marketing Qualified, Sales Accepted, Sales Qualified, Discovery, Proposal,"
    " Negotiation, Closed Won, Closed Lost, Nurture",
    "Q": "Q1, Q2, Q3, Q4",
}
WORDS = {k: [w.strip() for w in v.split(",")] for k, v in WORDS.items()}
PREFIXES = "Northwind, Bluefin, Cobalt, Driftwood, Evergreen, Foxglove, Granite, Halcyon, Ironbark, Juniper"
COMPANIES = [f"{p.strip()} {s}" for p in PREFIXES.split(",") for s in ("Systems", "Labs", "Cloud", "Health")]

# Slots drawn anew at each use; {S2} and the like are a second draw from the same list.
NUMBERS = {
    "N": lambda r: str(r.randint(2, 12)),
    "D": lambda r: str(r.choice([2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90])),
    "H": lambda r: str(r.choice([2, 4, 8, 24, 48, 72])),
    "PCT": lambda r: str(r.choice([5, 8, 10, 12, 15, 20, 25, 30, 35, 40, 50])),
    "AMT": lambda r: f"${r.choice([5, 10, 15, 25, 50, 75, 100, 150, 250, 500, 750]) * 1000:,}",
    "BIG": lambda r: f"${r.choice([1, 2, 3, 5, 8, 12])} million",
    "SCORE": lambda r: str(r.choice([40, 50, 60, 65, 70, 75, 80, 90, 100])),
    "YEAR": lambda r: str(r.choice([2025, 2026, 2027])),
    "SEATS": lambda r: str(r.choice([10, 25, 50, 100, 250, 500, 1000, 5000])),
}

# topic -> (headings, sentence templates)
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "pricing": (
        ["Discount approvals", "Pricing exceptions", "Deal desk", "Non-standard terms", "Price book changes"],
        [
            "A {S} may discount up to {PCT} percent off list alone, and anything deeper needs the {S2}.",
            "Discounts above {PCT} percent on {G} deals go to the {O}, who answers within {H} hours.",
            "Multi-year deals over {AMT} need a deal desk review before the {DOC} is sent to the customer.",
            "The {O} owns the {DOC}, and list prices for {P} change only once a year, in {MO}.",
            "Free months, extended payment terms and uncapped renewals count as pricing exceptions.",
            "Every exception is requested in {T} with the competitor named and the business case attached.",
            "The deal desk meets every {W} and clears complete requests within {D} business days.",
            "Marketing may propose promotional pricing for {E}, but the {S} signs it off before launch.",
            "Bundles of {P} and {P2} are priced by the {M} together with the {O}.",
            "A quote that expires after {D} days must be re-approved if the discount has changed.",
            "Approvals are logged on the opportunity, so a later audit can see who agreed to what.",
            "Ramped pricing for contracts above {BIG} is modelled by finance before it reaches the customer.",
        ],
    ),
    "leads": (
        [
            "Lead routing",
            "Lead scoring",
            "Handoff from marketing to sales",
            "Lead follow-up",
            "Recycling leads",
        ],
        [
            "Leads scoring {SCORE} points or more move to {STAGE} and are routed by {T} to the {S}.",
            "Routing follows the account's headquarters in {R}, not the contact's own office.",
            "The {S} must accept or reject a routed lead within {H} hours, or it returns to the {M}.",
            "Demo requests from the website are hot leads and get a first call within {H} hours.",
            "A rejected lead needs one of {N} reasons, and marketing nurtures it instead of deleting it.",
            "The {M} owns the scoring model and reviews it with the {S} every {Q}.",
            "Leads from {E} are uploaded to {T} within {D} days, tagged with the campaign code.",
            "{G} leads skip the SDR queue and go straight to the named {S}.",
            "When two people claim the same lead, the {O} decides within {D} business days.",
            "Marketing is measured on pipeline from {STAGE} leads, not on raw form fills.",
            "A lead that sits untouched for {D} days is recycled to the nurture programme.",
            "Partner-sourced leads are routed to the {S} for the partner's region in {R}.",
        ],
    ),
    "events": (
        ["Events and trade shows", "Booth staffing", "Field events", "Event follow-up", "Sponsorships"],
        [
            "The {M} chooses which shows we attend and owns the events budget for {R}.",
            "Sales confirms booth staff at least {D} days before {E}, so travel is booked early.",
            "Every booth shift has at least {N} people, one of them a {S} who can run a live demo.",
            "Nobody quotes a discount at the booth; prices are discussed only after the event.",
            "Badge scans from {E} go into {T} within {H} hours, and the {S} follows up within {D} days.",
            "Sponsorships above {AMT} need the sign-off of the {M} and the {O}.",
            "Field events for {G} accounts are planned jointly by the {M} and the regional {S}.",
            "Each event gets a one-page brief with its goal, audience and target of {N} meetings.",
            "The {M} reports event pipeline at the {MEET} within {D} days of the event.",
            "Speakers at {E} are approved by the {M}, and slides go through brand review.",
            "Customer dinners are hosted by the {S}, with marketing handling venue and invitations.",
        ],
    ),
    "enablement": (
        ["Sales enablement", "Onboarding new sellers", "Training and certification", "Content for sellers"],
        [
            "New {S} hires complete a {N}-week onboarding programme run by the {O}.",
            "Product training on {P} is written by the {M} and delivered in {T}.",
            "Every seller certifies on the {DOC} within {D} days of joining.",
            "Enablement office hours run every {W}, and recordings are kept in {T}.",
            "The {M} refreshes the {DOC} every {Q} after the {MEET}.",
            "Sellers may adapt approved decks, but new documents for customers need a marketing review.",
            "Call recordings from {T} are reviewed in pairs so new hires hear how the best calls run.",
            "A content request for {G} buyers is answered within {D} business days.",
            "The {S} coaches each new hire through their first {N} discovery calls.",
            "Ramp targets for new sellers are set by the {S} together with the {O}.",
            "Certification results are shared with each manager in the {MEET}.",
        ],
    ),
    "territories": (
        ["Territories", "Account assignment", "Named accounts", "Rules of engagement", "Account disputes"],
        [
            "Territories in {R} are drawn by postal code and reviewed every {MO} by the {O}.",
            "Accounts with more than {SEATS} employees are named accounts with a dedicated {S}.",
            "A customer spending over {AMT} a year gets a named {S}.",
            "Changes to territories take effect on the first day of {Q} and never mid-quarter.",
            "When two sellers claim the same account, the {O} decides within {D} business days.",
            "A seller who sources a deal outside their territory keeps {PCT} percent of the credit.",
            "Marketing may not run a targeted campaign at a named account without the {S}'s approval.",
            "{G} accounts in {R} are covered by the channel and managed by the {S}.",
            "Account ownership is recorded in {T}, and the record there settles every dispute.",
            "An account with no activity for {D} days returns to the pool for reassignment.",
        ],
    ),
    "comp": (
        ["Compensation", "Commission plans", "Quota setting", "SPIFFs and incentives", "Crediting deals"],
        [
            "Quotas for {S} roles are set by the {S2} with finance before {MO}.",
            "Commission is paid on booked annual contract value, monthly, through {T}.",
            "Accelerators start at {PCT} percent above quota and are capped at twice the base rate.",
            "A split deal pays each seller half, unless the {O} agrees another split in writing.",
            "SPIFFs for {P} run for one quarter and are announced in {CH}.",
            "Marketing's variable pay depends on qualified pipeline created, not on closed revenue.",
            "Clawbacks apply when a customer cancels within {D} days of signature.",
            "Disputes about crediting go to the {O} within {D} days of the commission statement.",
            "The {S} receives overlay credit for {G} deals they support.",
            "Quota relief is granted only for territory changes made after the quarter starts.",
        ],
    ),
    "tools": (
        ["Systems and tools", "CRM hygiene", "Data and reporting", "Tool requests"],
        [
            "{T} is the system of record for accounts, contacts and opportunities.",
            "Every opportunity needs a close date, an amount and a next step before {STAGE}.",
            "The {O} owns the {T} configuration, and changes are requested in {CH}.",
            "Marketing runs email and scoring in {T}, which syncs to the CRM every {N} minutes.",
            "Forecast categories are updated in {T} before the {MEET} each {W}.",
            "New tools need a security review by the {O} and budget from the {S}.",
            "Dashboards for pipeline by source live in {T} and are owned by the {M}.",
            "Seats in {T} are reviewed every {Q}, and unused licences are reclaimed.",
            "Meeting notes from {T} are attached to the opportunity within {D} days.",
            "Reports shared outside the company are checked by the {O} first.",
        ],
    ),
    "forecast": (
        ["Forecasting", "Pipeline reviews", "Operating rhythm", "Planning calendar"],
        [
            "The {MEET} runs every {W} and each {S} reports commit, best case and risk.",
            "Marketing submits its campaign plan {N} weeks before {Q} begins.",
            "Pipeline coverage of {N} times the quarter's target is the goal for {G}.",
            "If pipeline falls {PCT} percent behind plan, the {M} presents a recovery plan within a week.",
            "The annual plan is locked in {MO}, after the {O} agrees the targets.",
            "Deals above {BIG} are inspected individually at the {MEET}.",
            "Forecast changes after the {W} call need a note explaining what moved.",
            "The {S} and the {M} review pipeline by source together every month.",
        ],
    ),
    "campaigns": (
        ["Campaigns", "Account-based marketing", "Content and brand", "Website and digital", "Case studies"],
        [
            "The {M} owns the website, and every page change goes through {T}.",
            "Account-based campaigns for {G} accounts are planned with the account's {S}.",
            "Case studies need the customer's written approval and take about {N} weeks.",
            "Brand guidelines are owned by the {M}, and sellers use only approved logos.",
            "Campaign briefs name the audience, the offer, the budget of {AMT} and the expected pipeline.",
            "Press releases naming a customer need approval from the customer and the {O}.",
            "Sales nominates reference customers, and marketing asks each at most {N} times a year.",
            "Paid media for {P} in {R} is bought by the {M} against a quarterly budget.",
            "Webinar attendees get a follow-up email within {H} hours and a call from the {S}.",
            "Competitive battlecards for {P} are refreshed every {Q} by the {M}.",
        ],
    ),
    "partners": (
        ["Partners and channel", "Partner deal registration", "Resellers", "Alliances"],
        [
            "Partners register deals in {T}, and the {S} approves a registration within {D} days.",
            "A registered deal protects the partner for {D} days against other partners.",
            "Reseller discounts start at {PCT} percent and grow with certified staff.",
            "The {M} runs joint campaigns with partners in {R} from a shared fund.",
            "Conflicts between a partner and a direct seller go to the {O}.",
            "Partner-sourced pipeline is reported at the {MEET} beside direct pipeline.",
            "Marketplace deals above {AMT} need finance review of the fees.",
        ],
    ),
    "customers": (
        ["Renewals and expansion", "Customer success handoff", "Onboarding customers", "Churn risk"],
        [
            "After signature the {S} hands the account to the {S2} within {D} days.",
            "The handoff covers goals, stakeholders, the {DOC} and anything promised in the deal.",
            "Renewals start {D} days before the contract ends and are owned by the {S}.",
            "Expansion into new teams is sold by the original {S}, with customer success consulted.",
            "A customer with falling usage in {T} is flagged as a churn risk at the {MEET}.",
            "Price increases at renewal are capped at {PCT} percent unless the {O} agrees.",
            "Customer marketing runs the advocacy programme and the {E}.",
            "Health scores are calculated in {T} and reviewed every {W}.",
        ],
    ),
    "contracts": (
        ["Contracts and legal", "Security reviews", "Procurement", "Order forms"],
        [
            "Redlines to the {DOC} go to the {O}, who replies within {D} business days.",
            "Security questionnaires are answered from the library in {T} by the {S}.",
            "Customers in {G} often need a data processing agreement signed before the pilot.",
            "Only the {O} may sign contracts above {BIG}.",
            "Order forms are generated from the quote in {T}, never edited by hand.",
            "Procurement portals are handled by the {S} with the {O}'s help.",
            "Pilot agreements last at most {D} days and convert at a pre-agreed price.",
        ],
    ),
}
TABLES = {
    "pricing": (["Discount", "Approver", "Turnaround"], ["up to {PCT}%", "{S}", "{H} hours"]),
    "leads": (["Segment", "Works the lead", "Owns the opportunity"], ["{G}", "{S}", "{S2}"]),
    "events": (["Event", "Owner", "Budget"], ["{E}", "{M}", "{AMT}"]),
    "territories": (["Region", "Segment", "Owner"], ["{R}", "{G}", "{S}"]),
    "tools": (["Tool", "Used for", "Owner"], ["{T}", "the {DOC}", "{O}"]),
    "comp": (["Role", "Paid on", "Cap"], ["{S}", "annual contract value", "{PCT}% above target"]),
}
INTRO = [
    "This playbook describes how the {B} team at {C} works with sales, marketing and operations.",
    "It is owned by the {S} and the {M}, and was last reviewed in {MO} {YEAR}.",
    "Questions go to {CH}, where the {O} answers within {D} business days.",
    "When this page and an older deck disagree, this page wins.",
]
TEAMS = ["Field Marketing", "Deal Desk", "Sales Development", "Revenue Operations", "Partner Sales",
         "Enterprise Sales", "Demand Generation", "Customer Success", "Product Marketing", "Sales Enablement",
         "Inside Sales", "Channel Marketing", "Commercial Sales", "Brand and Communications"]  # fmt: skip
KINDS = ["Playbook", "Handbook", "Operating Guide", "Rules of Engagement", "Field Guide", "Runbook"]
CLAUSES = [
    " in {R}", " for {G} deals", " unless the {O} agrees otherwise", " during {Q}", " for {P}",
    " as agreed at the {MEET}", " and the record is kept in {T}", " for deals above {AMT}",
]  # fmt: skip
_SLOT = re.compile(r"\{([A-Z]+)\d?\}")


class Writer:
    """One run's random draws; a template's slots filled from the word lists."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.company = self.random.choice(COMPANIES)
        self.team = ""

    def fill(self, template: str) -> str:
        def slot(match: re.Match) -> str:
            name = match.group(1)
            if name == "C":
                return self.company
            if name == "B":
                return self.team
            if name in NUMBERS:
                return NUMBERS[name](self.random)
            return self.random.choice(WORDS[name])

        return _SLOT.sub(slot, template)

    def sentence(self, template: str) -> str:
        text = self.fill(template)
        if self.random.random() < 0.35:  # a clause before the full stop varies the wording
            text = text[:-1] + self.fill(self.random.choice(CLAUSES)) + text[-1]
        return text[0].upper() + text[1:]

    def paragraph(self, templates: list[str], sentences: int) -> str:
        out: list[str] = []
        # Distinct templates: a paragraph never says the same thing twice in other words.
        for template in self.random.sample(templates, k=min(sentences, len(templates))):
            sentence = self.sentence(template)
            if out and len(" ".join([*out, sentence]).split()) > MAX_WORDS:
                break
            out.append(sentence)
        words = " ".join(out).split()
        return " ".join(words) if len(words) <= MAX_WORDS else " ".join(words[:MAX_WORDS]) + "."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def document(writer: Writer, number: int, passages: int) -> tuple[str, str]:
    """(file name, Markdown) of one playbook holding exactly ``passages`` passages."""
    r = writer.random
    writer.team = r.choice(TEAMS)
    region = r.choice(WORDS["R"])
    title = f"{writer.team} {r.choice(KINDS)}: {region}"
    seen: set[str] = set()

    def unit(make) -> str:
        for _ in range(50):
            text = make()
            if text not in seen:
                seen.add(text)
                return text
        raise RuntimeError("the generator repeats itself: widen the word lists")

    lines = [f"# {title}", ""]
    intro = min(2, passages - 1) if passages > 2 else 0
    for _ in range(intro):
        lines += [unit(lambda: writer.paragraph(INTRO, 3)), ""]
    left = passages - intro
    topics = r.sample(sorted(TOPICS), k=len(TOPICS))
    section = 0
    while left > 0:
        topic = topics[section % len(topics)]
        headings, templates = TOPICS[topic]
        size = min(left, r.randint(2, 8))
        left -= size
        section += 1
        lines += [f"## {section}. {r.choice(headings)}", ""]
        if topic in TABLES and size >= 3 and r.random() < 0.3:
            header, cells = TABLES[topic]
            lines += [unit(lambda t=templates: writer.paragraph(t, 1)), ""]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for _ in range(size - 1):
                lines.append("| " + unit(lambda c=cells: " | ".join(writer.fill(x) for x in c)) + " |")
            lines.append("")
            continue
        if r.random() < 0.3:  # a list: each item its own passage
            lines += [f"- {unit(lambda t=templates: writer.paragraph(t, 1))}" for _ in range(size)]
            lines.append("")
        else:
            for _ in range(size):
                lines += [unit(lambda t=templates: writer.paragraph(t, r.randint(2, 3))), ""]
    name = f"{_slug(title)}-{number:05d}.md"
    return name, "\n".join(lines).rstrip() + "\n"


def generate(passages: int, out_dir: Path, seed: int = 29) -> list[Path]:
    """Write playbooks holding ``passages`` passages in all into ``out_dir``; their paths."""
    writer = Writer(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, left, number = [], passages, 0
    while left > 0:
        size = writer.random.randint(*PER_DOCUMENT)
        if left - size < PER_DOCUMENT[0]:
            size = left  # the last document takes the rest rather than leave a stub
        number += 1
        name, text = document(writer, number, size)
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
        left -= size
    return paths


def one_document(words: int, out_dir: Path, seed: int = 2029) -> Path:
    """A playbook of about ``words`` words (the document ``advisor knowledge add`` is timed on)."""
    writer = Writer(seed)
    passages = max(3, words // 40)
    while True:
        name, text = document(writer, 99999, passages)
        if len(text.split()) >= words:
            break
        passages += 5
    path = out_dir / f"added-{name}"
    path.write_text(text, encoding="utf-8")
    return path
