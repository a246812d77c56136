"""Data quality (SPEC 5.8): the ops tables' invariants, proven with Great Expectations suites.

``rules`` declares them, ``validation`` runs them through GX, ``service`` gives the report
and the release gate's check.
"""
