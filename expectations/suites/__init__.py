"""One module per validated table; each exposes ``build() -> gx.ExpectationSuite``.

Every expectation's ``meta["on_failure"]`` says what a failure does:
``block`` (fail the check, stop downstream and publication), ``warn`` (report
only) or ``quarantine`` (move offending rows aside with a reason, then pass).
"""
