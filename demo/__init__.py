"""Demo data for `make run` (`python manage.py seed_demo`): the top layer, above every app.

The command and its helpers live together here rather than in `common`, `claims` and `funding`:
demo data is built through the real services of every app (enrolments through operators' services,
Annuaire extractions through funding's import, claims in every state through claims' services), so it
depends on all of them and nothing may depend on it. Kept in `common` it made the ground layer depend
on every app; split into `claims.demo` and `funding.demo` it made `claims` reach into operators' models
and the command reach into both. `demo.operators` (the fictitious operators), `demo.funding` (the two
Annuaire extractions) and `demo.claims` (claims in every state) are its three parts.
"""
