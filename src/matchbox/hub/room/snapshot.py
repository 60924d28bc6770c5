"""The room at one moment: every participant's exercises, server and activity, with what the
room service remembers between reads (since when an exercise has been failing), sorted so that
whoever needs the instructor comes first:

1. failing an exercise: the longest-failing first (the time since the service first saw that
   exercise failing, and has seen it failing at every read since);
2. idle while others moved on: no activity for `idle_seconds` while at least one other
   participant was active in that time, and not everything passing; the longest idle first;
3. everyone else, the fewest exercises passing first (ties by name).

Each participant gets a `reason` for their place ("failing test_outputs_a for 4 min"), and the
JSON is what /services/room/api/progress returns (docs/room.md).
"""

import datetime

from matchbox.hub.room.progress import FAILING, PASSING

FAILING_FIRST, IDLE, OTHERS = 0, 1, 2


def parse_time(text):
    """JupyterHub's ISO 8601 timestamps ('...Z') as aware datetimes; None stays None."""
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def minutes(seconds):
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class Participant:
    """One participant as last read: hub facts plus {assignment: {exercise: state}}."""

    def __init__(self, name, last_activity=None, server="stopped", memory=None, assignments=None,
                 language=None, notebooks=None):
        self.name, self.last_activity, self.server, self.memory = name, last_activity, server, memory
        self.assignments = assignments or {}  # {assignment: {exercise: state}}
        self.notebooks = notebooks or {}  # {assignment: {exercise: notebook path}}
        self.language = language
        self.group, self.waited, self.reason = OTHERS, 0.0, ""

    def states(self):
        for assignment, found in self.assignments.items():
            for exercise, state in found.items():
                yield assignment, exercise, state

    def passing(self):
        return sum(state == PASSING for _, _, state in self.states())

    def all_passing(self):
        states = [state for _, _, state in self.states()]
        return bool(states) and all(state == PASSING for state in states)

    def as_json(self):
        return {
            "name": self.name,
            "last_activity": self.last_activity.isoformat().replace("+00:00", "Z") if self.last_activity else None,
            "server": self.server,
            "memory": self.memory,
            "language": self.language,
            "assignments": {name: {"exercises": dict(found), "notebook_of": dict(self.notebooks.get(name, {}))}
                            for name, found in self.assignments.items()},
            "stuck": self.group != OTHERS,
            "reason": self.reason,
        }


class Room:
    """What the service remembers between reads: since when each (participant, assignment,
    exercise) has been failing."""

    def __init__(self, idle_seconds=600):
        self.idle_seconds = idle_seconds
        self.failing_since = {}

    def order(self, participants, now):
        """The participants sorted as the module says, each with group, waited and reason."""
        seen = set()
        for person in participants:
            for assignment, exercise, state in person.states():
                if state == FAILING:
                    key = (person.name, assignment, exercise)
                    self.failing_since.setdefault(key, now)
                    seen.add(key)
        # an exercise that stopped failing (or a participant who is gone) starts afresh next time
        self.failing_since = {key: since for key, since in self.failing_since.items() if key in seen}
        active = [p for p in participants
                  if p.last_activity and (now - p.last_activity).total_seconds() < self.idle_seconds]
        for person in participants:
            self._place(person, now, others_active=any(p is not person for p in active))
        return sorted(participants, key=lambda p: (p.group, -p.waited, p.passing(), p.name))

    def _place(self, person, now, others_active):
        failing = [((now - self.failing_since[(person.name, a, e)]).total_seconds(), a, e)
                   for a, e, state in person.states() if state == FAILING]
        if failing:
            waited, assignment, exercise = max(failing)
            person.group, person.waited = FAILING_FIRST, waited
            person.reason = f"failing {exercise} ({assignment}) for {minutes(waited)}"
            return
        idle = (now - person.last_activity).total_seconds() if person.last_activity else None
        if idle is not None and idle >= self.idle_seconds and others_active and not person.all_passing():
            person.group, person.waited = IDLE, idle
            person.reason = f"idle for {minutes(idle)} while others work"
            return
        person.group, person.waited = OTHERS, 0.0
        total = sum(1 for _ in person.states())
        person.reason = f"{person.passing()} of {total} passing" if total else "no notebook read yet"
