"""What every bot of this insurer shares and no single bot owns: the policy administration's page objects,
the client of the portal's contract overview, Postfach delivery exactly once, the letterhead of every
document, and the insurer's settings.

Bots import it and the runtime; the runtime imports neither, and it never imports a bot.
"""
