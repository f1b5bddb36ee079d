"""Page objects of the policy administration's web UI ("Bestandsführung"), one class per screen.

The element contract is the core system's (the sandbox documents it and stands in for it); bots never
import the sandbox. `PolicyAdmin` is the entry: it logs in on demand and lands on the asked page.
"""

from bots.insurer.pages.contract import LayoutChanged
from bots.insurer.pages.policy_admin import SYSTEM, PolicyAdmin, open_policy_admin

__all__ = ["SYSTEM", "LayoutChanged", "PolicyAdmin", "open_policy_admin"]
