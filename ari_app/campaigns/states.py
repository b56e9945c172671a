"""A campaign attempt's states, each owning its moves (issue 22). Pure: the service does the I/O the
move asks for.

    Ringing --answered--> Detecting (AMD on) --human/not sure--> Connecting --agent answered--> Talking
       |                      |--machine (hang up)--> ended: machine
       |                      '--gone--> ended: no_answer (hung up during the greeting)
       |                  Connecting --no agent in time--> Dropping --gone--> ended: dropped
       '--gone--> ended: busy | no_answer | failed (its hangup cause)
    Talking --gone--> ended: answered

`ended` is the outcome the attempt gets when its client's channel ends in that state.
"""

from __future__ import annotations

from crm.outbound import model


class WrongMove(Exception):
    """An event the state does not expect (a late or repeated one): ignored by the service."""


class AttemptState:
    name = ""

    def answered(self, amd: bool) -> "AttemptState":
        raise WrongMove(f"answered while {self.name}")

    def verdict(self, status: str, machine_action: str) -> "AttemptState":
        raise WrongMove(f"AMD verdict while {self.name}")

    def agent_answered(self) -> "AttemptState":
        raise WrongMove(f"agent answered while {self.name}")

    def no_agent(self) -> "AttemptState":
        raise WrongMove(f"no agent while {self.name}")

    def ended(self, cause: int | None) -> str:
        """The outcome of the attempt whose client's channel ends now."""
        raise NotImplementedError


class Ringing(AttemptState):
    name = "ringing"

    def answered(self, amd: bool) -> AttemptState:
        return Detecting() if amd else Connecting()

    def ended(self, cause: int | None) -> str:
        return model.outcome_of_cause(cause)


class Detecting(AttemptState):
    """Answering-machine detection runs in the dialplan (pbxcrm-campaign-amd)."""

    name = "detecting"

    def verdict(self, status: str, machine_action: str) -> AttemptState:
        if model.outcome_of_amd(status) == model.MACHINE and machine_action != "agent":
            return Machine()
        return Connecting()

    def ended(self, cause: int | None) -> str:
        return model.NO_ANSWER


class Machine(AttemptState):
    """A machine answered: the service hangs up."""

    name = "machine"

    def ended(self, cause: int | None) -> str:
        return model.MACHINE


class Connecting(AttemptState):
    """A person answered: a free agent's phone is rung and bridged."""

    name = "connecting"

    def agent_answered(self) -> AttemptState:
        return Talking()

    def no_agent(self) -> AttemptState:
        return Dropping()

    def ended(self, cause: int | None) -> str:
        # The person hung up before an agent took the call: for the drop rate, a drop.
        return model.DROPPED


class Dropping(AttemptState):
    """No agent in time: a short message, then the service hangs up."""

    name = "dropping"

    def ended(self, cause: int | None) -> str:
        return model.DROPPED


class Talking(AttemptState):
    name = "talking"

    def ended(self, cause: int | None) -> str:
        return model.ANSWERED
