"""An in-house registry for routing tests: eight workplace agents with terms and a few sample requests."""

from __future__ import annotations

from dataclasses import dataclass

from registry_server.domain.agent import AgentSpec, AgentState, Capabilities, FactoryRef, RegisteredAgent


@dataclass(frozen=True)
class Workplace:
    """One test agent: its name, description, terms and examples."""

    name: str
    description: str
    domains: tuple[str, ...]
    entities: tuple[str, ...]
    operations: tuple[str, ...]
    keywords: tuple[str, ...]
    examples: tuple[str, ...]


WORKPLACE = (
    Workplace(
        "incidents_agent",
        "IT service desk: incidents, outages and support tickets, their status and assignees.",
        ("incidents", "it_support"),
        ("incident", "ticket", "outage"),
        ("open", "track", "escalate"),
        ("helpdesk", "vpn", "laptop"),
        (
            "show my open incidents",
            "what is the status of my support ticket",
            "is there an outage on the email service",
            "escalate the printer incident",
            "my laptop will not connect to the vpn",
        ),
    ),
    Workplace(
        "facilities_agent",
        "Workplace facilities: meeting rooms, desks and parking at the offices.",
        ("facilities", "rooms"),
        ("meeting room", "desk", "parking"),
        ("book", "reserve", "cancel"),
        ("office", "floor"),
        (
            "book a meeting room for tomorrow at ten",
            "reserve a desk on the third floor",
            "cancel my parking spot for friday",
            "is the large conference room free this afternoon",
            "find me a quiet room for a call",
        ),
    ),
    Workplace(
        "finops_agent",
        "Cloud financial operations: what we spend on cloud services, budgets and forecasts.",
        ("finops", "cloud_costs"),
        ("cost", "budget", "spend", "invoice"),
        ("analyze", "forecast", "compare"),
        ("aws", "gcp", "storage", "billing"),
        (
            "how much did we spend on compute last month",
            "what are our cloud costs this quarter",
            "are we over budget on storage",
            "forecast next month's aws bill",
            "compare gcp spend with last year",
        ),
    ),
    Workplace(
        "oncall_agent",
        "On-call rotations: who is on call, schedules and handovers for each team.",
        ("oncall", "rotation"),
        ("on call", "schedule", "shift"),
        ("swap", "page"),
        ("pager", "handover"),
        (
            "who is on call for the payments team",
            "swap my on-call shift with Sam",
            "show the rotation schedule for next week",
            "page the database engineer on duty",
            "when is my next on-call shift",
        ),
    ),
    Workplace(
        "ci_agent",
        "Continuous integration: builds, pipelines and deployments; restarts and logs of jobs.",
        ("ci", "builds"),
        ("build", "pipeline", "deployment"),
        ("restart", "rerun", "deploy"),
        ("jenkins", "job", "release"),
        (
            "restart the nightly build",
            "why did the pipeline fail",
            "rerun the deployment job for staging",
            "show the logs of the last build",
            "deploy the release branch to production",
        ),
    ),
    Workplace(
        "bugs_agent",
        "Bug tracker: files, triages and searches bug reports for the engineering teams.",
        ("bugs", "issue_tracker"),
        ("bug", "defect", "bug report"),
        ("file", "triage", "assign"),
        ("jira", "regression", "flaky"),
        (
            "file a bug for the login crash",
            "assign the regression to the web team",
            "list the open bugs in the checkout component",
            "triage the new defects from yesterday",
            "report a flaky test in the api suite",
        ),
    ),
    Workplace(
        "hr_agent",
        "Human resources: leave, vacation balances, payslips and benefits.",
        ("hr", "leave"),
        ("vacation", "payslip", "benefit", "leave balance"),
        ("request", "approve"),
        ("holiday", "pto", "sick"),
        (
            "how many vacation days do I have left",
            "request two days of leave next week",
            "download my latest payslip",
            "what is my remaining holiday allowance",
            "approve Maria's time off",
        ),
    ),
    Workplace(
        "learning_agent",
        "Learning and development: training courses, enrolments, progress and certifications.",
        ("learning", "courses", "training"),
        ("course", "certification", "enrolment"),
        ("enroll", "recommend", "progress"),
        ("lesson", "module", "workshop"),
        (
            "what courses am I enrolled in",
            "recommend a course on machine learning",
            "sign me up for the python workshop",
            "how far am I in my security training",
            "which certifications can I take this year",
        ),
    ),
)


def registered(agent: Workplace) -> RegisteredAgent:
    """The agent as the registry holds it (with an echo factory, never run by routing)."""
    capabilities = Capabilities(
        agent.domains, agent.operations, agent.entities, agent.keywords, 0, agent.examples
    )
    spec = AgentSpec(
        agent.name, FactoryRef("tests.fake_agents", "create_echo_agent"), agent.description, capabilities
    )
    return RegisteredAgent(spec, "etag", AgentState.AVAILABLE)
