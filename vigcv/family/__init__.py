"""A family's visits over time: their dates, the same few indicators per visit, the parent's
journey and the referrer's report.

- :mod:`vigcv.family.dates`: each visit's date (the recording's metadata, else a date in its
  name, else its modification time; the guider's correction wins), kept in ``family.json``.
- :mod:`vigcv.family.indicators`: the indicators of one visit, computed from its session folder
  alone, and ``progress.csv`` (one row per visit, in date order).
- :mod:`vigcv.family.plot`: the indicators over time, for the guider and the referrer.
- :mod:`vigcv.family.journey`: the parent's journey, a strengths-only page.
- :mod:`vigcv.family.report`: the referrer's report (HTML, and a PDF through Chromium).

Files are named and read through :mod:`vigcv.results`.
"""
