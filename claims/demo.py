def seed_claims(*, campaign, operators, stdout):
    """Claims in several states for the demo campaign (built with the claims issue)."""
