"""An incident as officers read it: the alert text and the buttons its state allows."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from botkit.domain import Incident
from botkit.domain.incident import allowed_actions
from botkit.domain.verdict import IMAGE_EVIDENCE
from botkit.images.known import is_image_claim
from botkit.outbound import Button
from botkit.places import PlaceBook
from botkit.texts import Texts

CUES_SHOWN = 4  # words that drove the score, across the incident's messages


class AlertRenderer:
    def __init__(self, texts: Texts, places: PlaceBook, tz: ZoneInfo) -> None:
        self.texts = texts
        self.places = places
        self.tz = tz  # officers read local time

    def render(
        self,
        incident: Incident,
        kind: str = "alert",
        step: int = 0,
        evidence: list[tuple[str, str]] | None = None,
        resent: bool = False,
        handled_by: str | None = None,
    ) -> str:
        """`handled_by`: the unit that acts on it, for an officer who may not (a copy to
        another unit): they read the alert without commands they could not use."""
        t = self.texts
        lines = []
        if resent:
            # An earlier try may have arrived after all (the platform did not answer).
            lines.append(self.resent_line())
        if kind == "escalated":
            lines.append(t.get("alert.escalated", incident_id=incident.id, step=step))
        elif kind == "reminded":
            lines.append(t.get("alert.reminder", incident_id=incident.id))
        lines += [
            t.get(
                # A resident's tip has no model score: the resident says so.
                "alert.title_tip" if _case_of(incident) else "alert.title",
                incident_id=incident.id,
                category_key=incident.category,
                category_name=t.category(incident.category),
                score=f"{incident.score:.2f}",
            ),
            t.get("alert.where", jurisdiction=self.places.name(incident.jurisdiction)),
            f"“{incident.excerpt}”",
            self._seen(incident),
            t.get("alert.state", state=t.get(f"state.{incident.state.value}")),
        ]
        cues = [v for k, v in (evidence or []) if k == "cue"]
        if cues:
            lines.append(t.get("alert.cues", cues=", ".join(f"«{c}»" for c in cues[:CUES_SHOWN])))
        if any(k == IMAGE_EVIDENCE for k, _ in evidence or []):
            lines.append(t.get("alert.picture"))
        signs = [(k, v) for k, v in (evidence or []) if k not in ("cue", IMAGE_EVIDENCE)]
        if signs:
            shown = "; ".join(f"{t.get(f'evidence.{k}')} {v}" for k, v in signs)
            lines.append(t.get("alert.evidence", evidence=shown))
        if incident.claim_id and is_image_claim(incident.claim_id):
            lines.append(t.get("alert.claim_picture"))
        elif incident.claim_id:
            lines.append(t.get("alert.claim", claim_id=incident.claim_id))
        actions = allowed_actions(incident.state)
        if handled_by is not None:
            lines.append(t.get("alert.copy", unit=handled_by))
        elif actions:
            commands = " · ".join(f"/{a} {incident.id}" for a in actions)
            lines.append(t.get("alert.commands", commands=commands))
        return "\n".join(lines)

    def _seen(self, incident: Incident) -> str:
        case = _case_of(incident)
        if case:
            # A resident's tip: seen in no group; the officer may write back to the resident.
            return self.texts.get("alert.tip", case_id=case)
        return self.texts.get(
            "alert.seen",
            groups=incident.groups,
            occurrences=incident.occurrences,
            last_seen=incident.last_seen.astimezone(self.tz).strftime("%d/%m %H:%M"),
        )

    def resent_line(self) -> str:
        return self.texts.get("alert.resent")

    def buttons(self, incident: Incident, actionable: bool = True) -> tuple[Button, ...]:
        """One button per action the incident's state allows now (none for a reader who
        may not act: pressing one would only be refused)."""
        if not actionable:
            return ()
        return tuple(
            Button(self.texts.get(f"button.{a}"), f"{a}:{incident.id}")
            for a in allowed_actions(incident.state)
        )

    def digest(self, incidents: list[Incident]) -> str:
        lines = [self.texts.get("alert.digest", count=len(incidents))]
        for i in incidents:
            name = self.texts.category(i.category)
            lines.append(f"#{i.id} {i.category} · {name} · {i.excerpt[:60]}")
        return "\n".join(lines)


def _case_of(incident: Incident) -> str | None:
    """The resident's case an incident was opened for (a tip), if any."""
    case = incident.content_key.removeprefix("case:")
    return case if case != incident.content_key else None
