"""Bank change bot: a customer's new IBAN for the debit and credit accounts of their policies, checked at
once at the intake and applied through the policy administration's web UI (issue 11)."""
