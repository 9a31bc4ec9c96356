"""The codebook as data: every coded table, its columns, types and allowed values.

``data/README.md`` is generated from this module (``emmie codebook``) and a test
keeps the two identical, so the codebook users read is the one the validator
enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Types a cell can have.
#   text     free text (no formula text, no HTML tags in titles)
#   id       short identifier: letters, digits, "_", "-", "." (unique where the table says so)
#   int      whole number >= 0
#   float    finite real number
#   year     four-digit year, 1900-2100
#   enum     one of ``allowed``
#   ref      a value of another table's column (``ref`` = "table.column")
#   url      a DOI ("10.xxxx/...") or an http(s) URL
#   date     YYYY, YYYY-MM or YYYY-MM-DD, as precise as it is known (kept as text)
TYPES = ("text", "id", "int", "float", "year", "enum", "ref", "url", "date")

VERIFIED = ("yes", "partial", "no")

DESIGNS = (
    "rct",  # randomised controlled trial
    "quasi_experimental",  # matched or non-equivalent comparison group, DiD, PSM
    "before_after",  # pre/post without a comparison group, incl. administrative series
    "cohort",  # single-arm follow-up
    "mixed_methods",
    "qualitative",
    "survey",
    "case_study",
    "descriptive",  # practice description, guidance, developer account
    "review",  # a review or theory paper used for programme theory
)
COMPARATIVE_DESIGNS = ("rct", "quasi_experimental")

# What kind of document a source is. Studies and reports of studies are the default;
# news items, funding lists, council minutes and parliamentary answers are kept for
# context, implementation and economics but are not studies (see emmie.ingest.documents).
DOCUMENT_TYPES = (
    "journal_article",
    "report",  # research or evaluation report, incl. grey literature
    "thesis",
    "book",
    "presentation",  # slides or a conference talk
    "administrative_data",  # an agency's own data note or statistics
    "web_page",
    "news",
    "funding_list",
    "minutes",  # minutes of a council or committee meeting
    "parliamentary_answer",
)
NOT_STUDIES = ("news", "funding_list", "minutes", "parliamentary_answer")

ROB_JUDGEMENTS = ("low", "some_concerns", "moderate", "serious", "critical", "high", "no_information", "not_assessed")
ROB_TOOLS = ("rob2", "robins_i", "generic", "none")
APPRAISAL = ("high", "moderate", "low")

MEASURES = ("OR", "RR", "RD", "MD", "SMD", "ROM", "COR", "ZCOR", "PCOR", "GEN", "PROP", "NONE")

CONCEPT_KINDS = ("context", "mechanism", "outcome", "component")
STANCES = ("supports", "contradicts", "refines")
CMO_EVIDENCE = ("asserted", "described", "observed", "tested")
IMPL_TYPES = ("barrier", "enabler")
IMPL_LEVELS = ("practitioner", "team", "organisation", "system")
ECON_KINDS = ("cost", "funding", "outcome_value", "saving")
ECON_UNITS = ("total", "per_family", "per_child", "per_authority", "per_staff", "per_year")
DIRECTIONS = ("benefit", "harm", "no_change", "mixed", "unclear")

PRISMA_BOXES = (
    "identified_databases",
    "identified_registers",
    "identified_other",
    "duplicates_removed",
    "removed_other",
    "records_screened",
    "records_excluded",
    "reports_sought",
    "reports_not_retrieved",
    "reports_assessed",
    "reports_excluded",
    "studies_included",
    "reports_included",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    description: str
    allowed: tuple[str, ...] = ()
    ref: str = ""
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str  # file name without .csv
    description: str
    columns: tuple[Column, ...]
    required: bool = True
    extra_columns: bool = False  # other columns allowed (declared in review.yaml)
    checks: tuple[str, ...] = field(default=())  # prose of the cross-column checks

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _provenance(page_required: bool = False) -> tuple[Column, ...]:
    return (
        Column(
            "source",
            "text",
            True,
            "Where the number or text was read: citation plus DOI/URL (and report) of what was actually seen.",
        ),
        Column("source_page", "text", page_required, "Page, table or section in that source."),
        Column("verified", "enum", True, "Whether the coder saw the value in the cited source.", VERIFIED),
        Column("note", "text", False, "How it was verified, or why it is uncertain."),
    )


STUDIES = Table(
    "studies",
    "One row per included study or report.",
    (
        Column("study_id", "id", True, "Short unique key, e.g. `baginsky2017`.", unique=True),
        Column("citation", "text", True, "Full reference as it appears in the reference list."),
        Column("year", "year", True, "Year of publication."),
        Column(
            "published",
            "date",
            False,
            "When the source was first public (online first), as precise as known; used to build the evidence as of a snapshot date (`review.yaml` `snapshots`). Empty: only `year` is known.",
        ),
        Column(
            "document_type",
            "enum",
            False,
            "What kind of document it is (empty = a study or report of one). News, funding lists, minutes and parliamentary answers are not studies: kept for context, implementation and economics, left out of Effect and the study counts unless `review.yaml` `non_study_document_types` says otherwise.",
            DOCUMENT_TYPES,
        ),
        Column("country", "text", True, "Country (or countries, separated by `;`)."),
        Column("design", "enum", True, "Study design.", DESIGNS),
        Column("comparison", "text", False, "What the intervention group was compared with; empty if no comparison."),
        Column("n", "int", False, "Number of participants (children, families or staff: say which in `sample`)."),
        Column("sample", "text", False, "Who and how many, in words."),
        Column("setting", "text", False, "Where the intervention was delivered."),
        Column("rob_tool", "enum", True, "Risk-of-bias tool used for the overall judgement.", ROB_TOOLS),
        Column("rob_overall", "enum", True, "Overall risk-of-bias judgement.", ROB_JUDGEMENTS),
        Column("relevance", "enum", True, "Realist appraisal: relevance to the programme theory.", APPRAISAL),
        Column("rigour", "enum", True, "Realist appraisal: rigour (trustworthiness) of the account.", APPRAISAL),
        Column("url", "url", True, "DOI or URL of the study itself."),
        Column(
            "in_original_review",
            "enum",
            True,
            "Whether the study is known to be in the published review being re-coded (`unknown` when its included-study list could not be read).",
            ("yes", "no", "unknown"),
        ),
        Column(
            "inclusion_basis",
            "text",
            False,
            "How `in_original_review` was settled: the source that lists or cites the study as included, or where it was looked for and not found.",
        ),
        *_provenance(),
    ),
)

EFFECTS = Table(
    "effects",
    "One row per extracted result. Give the raw inputs for one measure; emmie computes yi and vi.",
    (
        Column("effect_id", "id", True, "Unique key of the result.", unique=True),
        Column("study_id", "ref", True, "The study it comes from.", ref="studies.study_id"),
        Column("outcome", "ref", True, "Outcome id from `review.yaml` `outcomes`.", ref="review.outcomes"),
        Column("timepoint", "text", False, "When the outcome was measured, e.g. `12 months`."),
        Column(
            "measure",
            "enum",
            True,
            "Effect-size measure (metafor's `escalc` names; `GEN` = estimate with SE/CI/p; `PROP` = single-group proportion; `NONE` = direction only, no usable number).",
            MEASURES,
        ),
        Column("ai", "float", False, "2x2 table: events, intervention group."),
        Column("bi", "float", False, "2x2 table: non-events, intervention group."),
        Column("ci", "float", False, "2x2 table: events, comparison group."),
        Column("di", "float", False, "2x2 table: non-events, comparison group."),
        Column("n1i", "float", False, "Sample size, intervention group."),
        Column("n2i", "float", False, "Sample size, comparison group."),
        Column("m1i", "float", False, "Mean, intervention group."),
        Column("m2i", "float", False, "Mean, comparison group."),
        Column("sd1i", "float", False, "SD, intervention group (> 0)."),
        Column("sd2i", "float", False, "SD, comparison group (> 0)."),
        Column("ri", "float", False, "Correlation (COR, ZCOR)."),
        Column("ni", "float", False, "Sample size (COR, ZCOR, PCOR, PROP)."),
        Column("ti", "float", False, "t statistic of the predictor (PCOR)."),
        Column("mi", "float", False, "Number of other predictors in the model (PCOR)."),
        Column("xi", "float", False, "Events in a single group (PROP)."),
        Column(
            "estimate",
            "float",
            False,
            "Reported estimate on the analysis scale (GEN), e.g. a log odds ratio or a risk difference.",
        ),
        Column("se", "float", False, "Standard error of `estimate` (> 0)."),
        Column("ci_lb", "float", False, "Lower confidence limit of `estimate`."),
        Column("ci_ub", "float", False, "Upper confidence limit of `estimate`."),
        Column("pval", "float", False, "Two-sided p-value of `estimate` (0 < p <= 1)."),
        Column(
            "direction",
            "enum",
            False,
            "Direction of the result relative to the outcome's desirable direction, as the source reports it (used where no number can be pooled; SWiM).",
            DIRECTIONS,
        ),
        Column("result_text", "text", False, "The result as the source words it."),
        *_provenance(page_required=True),
    ),
    checks=(
        "the inputs needed by `measure` are present (OR/RR/RD: ai,bi,ci,di or ai,n1i,ci,n2i; MD/SMD/ROM: m1i,m2i,sd1i,sd2i,n1i,n2i; COR/ZCOR: ri,ni; PCOR: ti,ni,mi; GEN: estimate and one of se, ci_lb+ci_ub, pval; PROP: xi,ni; NONE: direction)",
        "event counts do not exceed the group sizes (ai <= n1i, ci <= n2i, xi <= ni)",
        "SDs and SEs are > 0; correlations lie in (-1, 1); p-values in (0, 1]",
        "a confidence interval contains its estimate",
    ),
)

VOCABULARY = Table(
    "vocabulary",
    "The review's controlled vocabulary: every context, mechanism, outcome and intervention component coded in `cmo.csv`, so that one concept coded in two studies is one node of the graph.",
    (
        Column("concept_id", "id", True, "Unique key, e.g. `m_shared_risk`.", unique=True),
        Column("kind", "enum", True, "What the concept is.", CONCEPT_KINDS),
        Column("label", "text", True, "Short label shown in figures."),
        Column("description", "text", False, "Definition used by the coders."),
    ),
)

CMO = Table(
    "cmo",
    "Context-mechanism-outcome configurations, one row per configuration per study.",
    (
        Column("cmo_id", "id", True, "Unique key.", unique=True),
        Column("study_id", "ref", True, "The study the configuration is coded from.", ref="studies.study_id"),
        Column(
            "context",
            "ref",
            False,
            "Context concept (kind `context`); empty if the study names none.",
            ref="vocabulary.concept_id",
        ),
        Column(
            "component",
            "ref",
            False,
            "Intervention component (kind `component`) that triggers the mechanism.",
            ref="vocabulary.concept_id",
        ),
        Column("mechanism", "ref", True, "Mechanism concept (kind `mechanism`).", ref="vocabulary.concept_id"),
        Column(
            "enables",
            "ref",
            False,
            "A further mechanism that this one enables (a chain M -> M).",
            ref="vocabulary.concept_id",
        ),
        Column(
            "outcome",
            "ref",
            False,
            "Outcome concept (kind `outcome`); empty if the study links the mechanism to no outcome.",
            ref="vocabulary.concept_id",
        ),
        Column(
            "stance", "enum", True, "Whether the study supports, contradicts or refines the configuration.", STANCES
        ),
        Column(
            "evidence",
            "enum",
            True,
            "How the study knows: `asserted` (stated as theory), `described` (described in practice), `observed` (seen in qualitative or quantitative data), `tested` (tested against a comparison or mediator analysis).",
            CMO_EVIDENCE,
        ),
        Column(
            "excerpt", "text", True, "The words in the source that the coding rests on (quoted or closely paraphrased)."
        ),
        *_provenance(page_required=False),
    ),
    checks=("each concept has the kind its column requires (context, component, mechanism, outcome)",),
)

IMPLEMENTATION = Table(
    "implementation",
    "Implementation barriers and enablers.",
    (
        Column("impl_id", "id", True, "Unique key.", unique=True),
        Column("study_id", "ref", True, "The study.", ref="studies.study_id"),
        Column("type", "enum", True, "Barrier or enabler.", IMPL_TYPES),
        Column(
            "theme",
            "ref",
            True,
            "Theme id from `review.yaml` `implementation_themes`.",
            ref="review.implementation_themes",
        ),
        Column("level", "enum", True, "Level at which it acts.", IMPL_LEVELS),
        Column("excerpt", "text", True, "The words in the source."),
        *_provenance(),
    ),
)

ECONOMICS = Table(
    "economics",
    "Cost and outcome-value items. An empty table (header only) says that no economic evidence was found.",
    (
        Column("econ_id", "id", True, "Unique key.", unique=True),
        Column("study_id", "ref", True, "The study or report.", ref="studies.study_id"),
        Column("item", "text", True, "What was costed or funded."),
        Column("kind", "enum", True, "Kind of item.", ECON_KINDS),
        Column("amount", "float", True, "Amount in `currency` at `price_year` prices (>= 0)."),
        Column(
            "currency",
            "enum",
            True,
            "ISO 4217 code; must appear in `data/_reference/exchange_rates.csv`.",
            ("GBP", "USD", "AUD", "EUR", "CAD", "NZD", "DKK", "SEK"),
        ),
        Column("price_year", "year", True, "Year whose prices the amount is in."),
        Column("unit", "enum", True, "What the amount is for.", ECON_UNITS),
        Column(
            "n_units",
            "float",
            False,
            "How many units (families, children, authorities, years) `amount` covers, where `unit` is `total`.",
        ),
        Column(
            "outcome",
            "ref",
            False,
            "Outcome id from `review.yaml`, for an outcome value or a cost tied to an effect.",
            ref="review.outcomes",
        ),
        Column("excerpt", "text", True, "The words in the source."),
        *_provenance(),
    ),
    required=True,
)

MODERATORS = Table(
    "moderators",
    "Study characteristics that may moderate effects, one row per study. Columns other than `study_id` are declared in `review.yaml` `moderators`.",
    (Column("study_id", "ref", True, "The study.", ref="studies.study_id"),),
    required=False,
    extra_columns=True,
)

ROB = Table(
    "rob",
    "Risk-of-bias judgements per study and domain (for robvis-style plots).",
    (
        Column("study_id", "ref", True, "The study.", ref="studies.study_id"),
        Column("tool", "enum", True, "Tool.", ROB_TOOLS),
        Column("domain", "text", True, "Domain name as the tool words it (e.g. `D1 Randomisation process`)."),
        Column("judgement", "enum", True, "Judgement.", ROB_JUDGEMENTS),
        Column("support", "text", False, "Reason for the judgement."),
    ),
    required=False,
)

PRISMA = Table(
    "prisma",
    "Search and screening counts for a PRISMA 2020 flow diagram. A count that the source does not report is left empty with a note.",
    (
        Column("box", "enum", True, "PRISMA 2020 box.", PRISMA_BOXES),
        Column("count", "int", False, "Number; empty when not reported."),
        Column("detail", "text", False, "Breakdown, e.g. reasons for exclusion."),
        *_provenance(),
    ),
    checks=(
        "identified - duplicates_removed - removed_other = records_screened",
        "records_screened - records_excluded = reports_sought",
        "reports_sought - reports_not_retrieved = reports_assessed",
        "reports_assessed - reports_excluded = reports_included",
        "studies_included <= reports_included",
    ),
)

TABLES: tuple[Table, ...] = (STUDIES, EFFECTS, VOCABULARY, CMO, IMPLEMENTATION, ECONOMICS, MODERATORS, ROB, PRISMA)
TABLES_BY_NAME = {t.name: t for t in TABLES}
