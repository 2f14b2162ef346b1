"""One module per validated table; each exposes ``TABLE`` and ``build(frame) -> gx.ExpectationSuite``
(the frame lets a suite cover every text column of the table, as the personal-data rules do).

Every expectation's ``meta["on_failure"]`` says what a failure does: ``block``
(fail the check, stop downstream and publication) or ``warn`` (report only).
"""
