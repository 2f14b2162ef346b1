"""One module per validated table; each exposes ``TABLE``, ``KEY`` and
``build(frame) -> gx.ExpectationSuite`` (the frame lets a suite cover every text column of the
table, as the personal-data rules do); ``common.row_count_near`` adds each mart's row count
against the published table. ``raw`` derives the raw channels' suites from the channel contracts.

Every expectation's ``meta["on_failure"]`` says what a failure does: ``block`` (fail the check,
stop downstream and publication), ``quarantine`` (set the offending rows aside with the rule as
reason, go on) or ``warn`` (report only); see ``expectations/runner.py``.
"""
